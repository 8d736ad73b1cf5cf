//! Next.js as Watt runs it: an app directory whose `watt.json` names `@platformatic/next`,
//! with no entry file, served from its build by Next's own server in each worker; the
//! refusals that say what to run; `spindle build`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};
use spindle_e2e::cli::spindle_cli;
use spindle_e2e::client::{get, get_json};
use spindle_e2e::workers::wait_live;
use spindle_e2e::{fixture, Running, TempDir, TestServer, READY_TIMEOUT};

/// The fixture, built by scripts/test (`npm run build` there) with `basePath: '/shop'`.
fn built_fixture() -> std::path::PathBuf {
    let dir = fixture("nextjs-watt");
    assert!(
        dir.join(".next/BUILD_ID").is_file(),
        "{} has no production build: run scripts/test, or `npm run build` there",
        dir.display()
    );
    dir
}

/// The first `/shop/_next/static/...js` path in an HTML page.
fn static_script(html: &str) -> Option<String> {
    let start = html.find("/shop/_next/static/")?;
    let end = start + html[start..].find('"')?;
    let path = &html[start..end];
    path.ends_with(".js").then(|| path.to_string())
}

/// The page, a route handler and a build asset, all under the app's base path.
async fn check_served(server: &Running) {
    let page = get(&format!("{}/shop", server.url())).await;
    assert_eq!(page.status, StatusCode::OK, "GET /shop: {page:?}");
    let html = page.text();
    assert!(
        html.contains("<p id=\"served\">served without an entry file</p>"),
        "GET /shop: {html}"
    );

    let asset = static_script(&html)
        .unwrap_or_else(|| panic!("no /shop/_next/static/*.js in the page: {html}"));
    let script = get(&format!("{}{asset}", server.url())).await;
    assert_eq!(script.status, StatusCode::OK, "GET {asset}: {script:?}");
    let kind = script
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        kind.contains("javascript"),
        "GET {asset}: content-type {kind:?}"
    );
    assert!(!script.body.is_empty(), "GET {asset}: empty body");

    let hello = get_json(&format!("{}/shop/api/hello?name=spindle", server.url())).await;
    assert_eq!(
        hello,
        json!({"framework": "nextjs-watt", "hello": "spindle"}),
        "GET /shop/api/hello"
    );
}

#[tokio::test]
async fn next_app_from_its_watt_json_is_served_by_two_workers() {
    let server = TestServer::new()
        .app("web", built_fixture())
        .workers(2)
        .env("NEXT_TELEMETRY_DISABLED", "1")
        .start()
        .await;
    wait_live(&server, "web", 2, &BTreeSet::new(), READY_TIMEOUT).await;
    check_served(&server).await;

    // Next's own basePath: outside it, Next answers 404.
    let outside = get(&format!("{}/api/hello", server.url())).await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND, "{outside:?}");

    // Both workers run Next: idle workers take turns, so 20 requests reach both.
    let url = format!("{}/shop/api/worker", server.url());
    let mut threads = BTreeSet::new();
    let mut bodies: Vec<Value> = Vec::new();
    while threads.len() < 2 && bodies.len() < 20 {
        let body = get_json(&url).await;
        threads.insert(body["threadId"].as_u64().expect("threadId"));
        bodies.push(body);
    }
    assert_eq!(threads.len(), 2, "answered only by {threads:?}: {bodies:?}");
}

#[tokio::test]
async fn next_app_mounted_under_a_route_sees_the_prefix_it_was_built_for() {
    let server = TestServer::new()
        .app("home", fixture("plain"))
        .app("web", built_fixture())
        .env("NEXT_TELEMETRY_DISABLED", "1")
        .entrypoint("home")
        .config_json(
            json!({"server": {"hostname": "127.0.0.1", "port": 0, "routes": {"/shop": "web"}}}),
        )
        .start()
        .await;
    wait_live(&server, "web", 1, &BTreeSet::new(), READY_TIMEOUT).await;
    check_served(&server).await;
    let worker = get_json(&format!("{}/shop/api/worker", server.url())).await;
    assert_eq!(worker["framework"], "nextjs-watt", "{worker}");
    // Everything else is the entrypoint's.
    let home = get_json(&format!("{}/somewhere", server.url())).await;
    assert_eq!(home["app"], "plain", "{home}");
}

/// Runs spindle, expects it to exit 69 before serving, and returns its stderr.
async fn refused(server: TestServer) -> String {
    let running = server.spawn().await;
    let status = running.wait_exit_and_output(Duration::from_secs(15)).await;
    let stderr = running.stderr_lines().join("\n");
    assert_eq!(status.code(), Some(69), "exit {status}; stderr:\n{stderr}");
    assert!(
        !running
            .stdout_lines()
            .iter()
            .any(|l| l.contains("spindle ready")),
        "{}",
        running.describe()
    );
    stderr
}

#[tokio::test]
async fn a_route_other_than_the_apps_base_path_is_refused() {
    let stderr = refused(
        TestServer::new()
            .app("home", fixture("plain"))
            .app("web", built_fixture())
            .entrypoint("home")
            .config_json(json!({"server": {"routes": {"/store": "web"}}})),
    )
    .await;
    assert!(
        stderr.contains(
            "application \"web\" is a Next.js app mounted under \"/store\" (server.routes), but \
             its application.basePath in"
        ) && stderr.contains("is \"/shop\": a Next.js app is built for one base path"),
        "{stderr}"
    );
}

#[tokio::test]
async fn spindle_dev_does_not_run_next_dev_and_says_what_to_do() {
    let stderr = refused(TestServer::new().app("web", built_fixture()).dev()).await;
    assert!(
        stderr.contains("spindle dev does not run Next.js's development server: develop it with `npx next dev` in"),
        "{stderr}"
    );
}

/// A Watt-shaped project in a temp dir: `spindle.json` with app `web`, whose own
/// `watt.json` is `own`.
fn project(own: Value) -> TempDir {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.path().join("web")).expect("mkdir web");
    std::fs::write(dir.path().join("web/watt.json"), own.to_string()).expect("write watt.json");
    std::fs::write(
        dir.path().join("spindle.json"),
        r#"{ "applications": [{ "id": "web", "path": "web" }] }"#,
    )
    .expect("write spindle.json");
    dir
}

const NEXT_SCHEMA: &str = "https://schemas.platformatic.dev/@platformatic/next/3.67.0.json";

#[tokio::test]
async fn an_unbuilt_next_app_is_refused_with_what_to_run() {
    let dir = project(json!({"$schema": NEXT_SCHEMA}));
    let stderr = refused(TestServer::new().app("web", dir.path().join("web"))).await;
    assert!(
        stderr.contains("application \"web\" is a Next.js app with no production build")
            && stderr.contains(".next/BUILD_ID is missing): build it with `spindle build`"),
        "{stderr}"
    );
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

#[tokio::test]
async fn spindle_build_runs_the_apps_build_and_passes_on_its_failure() {
    // application.commands.build stands in for `next build`: same directory, same output.
    let failing = project(json!({
        "$schema": NEXT_SCHEMA,
        "application": {"commands": {"build": "echo building in $(basename \"$(pwd -P)\"); exit 3"}}
    }));
    let out = spindle_cli(&["build", path_arg(failing.path())]).await;
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert!(out.stdout.contains("building in web"), "{}", out.describe());
    assert!(
        out.stderr.contains("building \"web\" failed"),
        "{}",
        out.describe()
    );

    let writes_a_build = project(json!({
        "$schema": NEXT_SCHEMA,
        "application": {"commands": {"build":
            "mkdir -p .next && echo id > .next/BUILD_ID && echo '{\"basePath\":\"\"}' > .next/routes-manifest.json"}}
    }));
    let out = spindle_cli(&["build", path_arg(writes_a_build.path())]).await;
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stderr.contains("built \"web\""), "{}", out.describe());
    assert!(writes_a_build.path().join("web/.next/BUILD_ID").is_file());

    // Built without the base path it is served under: said at once.
    let unbased = project(json!({
        "$schema": NEXT_SCHEMA,
        "application": {"basePath": "/shop", "commands": {"build":
            "mkdir -p .next && echo id > .next/BUILD_ID && echo '{\"basePath\":\"\"}' > .next/routes-manifest.json"}}
    }));
    let out = spindle_cli(&["build", path_arg(unbased.path())]).await;
    assert_eq!(out.code, Some(64), "{}", out.describe());
    assert!(
        out.stderr
            .contains("its Next.js build has no basePath: set basePath: \"/shop\""),
        "{}",
        out.describe()
    );
}
