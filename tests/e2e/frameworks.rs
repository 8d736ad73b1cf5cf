//! Real framework apps from npm, each served by two workers; apps that listen on `PORT`
//! and apps that only export; Next.js against `next start`; an app that cannot run in a
//! worker thread.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use http::StatusCode;
use serde_json::{json, Value};
use spindle_e2e::client::{get, get_json, poll, try_get, Response};
use spindle_e2e::workers::wait_live;
use spindle_e2e::{
    as_test_child, fixture, free_port, test_node, Running, TestServer, READY_TIMEOUT, STEP_TIMEOUT,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Requests to `path` one after another until two different threads have answered: idle
/// workers take turns, so a handful is enough. Returns the JSON bodies; fails the test when
/// 20 requests all came from one thread.
async fn answers_from_both_workers(server: &Running, path: &str) -> Vec<Value> {
    let url = format!("{}{path}", server.url());
    let mut bodies = Vec::new();
    let mut threads = BTreeSet::new();
    while threads.len() < 2 && bodies.len() < 20 {
        let body = get_json(&url).await;
        let thread = body["threadId"].as_u64();
        threads.insert(thread.unwrap_or_else(|| panic!("GET {url}: no threadId in {body}")));
        bodies.push(body);
    }
    assert_eq!(
        threads.len(),
        2,
        "GET {url} x{}: answered only by threads {threads:?}; bodies {bodies:?}",
        bodies.len()
    );
    bodies
}

/// Starts `name` with two workers and waits until both are ready.
async fn start_two_workers(name: &str) -> Running {
    let server = TestServer::new()
        .app("web", fixture(name))
        .workers(2)
        .start()
        .await;
    wait_live(&server, "web", 2, &BTreeSet::new(), READY_TIMEOUT).await;
    server
}

/// The fixtures answer `/` with `{framework, threadId}` and `/hello/:name` with
/// `{framework, hello}`.
async fn check_framework(name: &str) -> Running {
    let server = start_two_workers(name).await;
    for body in answers_from_both_workers(&server, "/").await {
        assert_eq!(body["framework"], name, "GET /: {body}");
    }
    let hello = get_json(&format!("{}/hello/spindle", server.url())).await;
    assert_eq!(hello["framework"], name, "GET /hello/spindle: {hello}");
    assert_eq!(hello["hello"], "spindle", "GET /hello/spindle: {hello}");
    server
}

#[tokio::test]
async fn express_app_answers_its_routes() {
    check_framework("express").await;
}

#[tokio::test]
async fn fastify_app_answers_its_routes_and_its_pino_logs_pass_through() {
    let server = check_framework("fastify").await;
    let line = server
        .wait_log(
            |line| line.msg() == Some("incoming request") && line.is_app("web"),
            STEP_TIMEOUT,
        )
        .await;
    assert!(
        line.field("reqId").is_some(),
        "pino fields kept: {}",
        line.text
    );
    assert!(
        line.str("worker").is_some_and(|w| w.starts_with("web:")),
        "worker label added: {}",
        line.text
    );
}

#[tokio::test]
async fn koa_app_answers_its_routes() {
    check_framework("koa").await;
}

#[tokio::test]
async fn hono_app_on_its_node_adapter_answers_its_routes() {
    check_framework("hono").await;
}

#[tokio::test]
async fn nestjs_app_answers_its_routes() {
    let server = check_framework("nestjs").await;
    // Nest's own startup log, from each worker: the app booted as Nest, not some fallback.
    for worker in ["web:0", "web:1"] {
        server
            .wait_log(
                |line| {
                    line.str("worker") == Some(worker)
                        && line.text.contains("Nest application successfully started")
                },
                STEP_TIMEOUT,
            )
            .await;
    }
}

#[tokio::test]
async fn commonjs_app_that_listens_gets_the_public_port_as_port() {
    let port = free_port();
    let server = TestServer::new()
        .app("web", fixture("env-app"))
        .workers(2)
        .server_port(port)
        .start()
        .await;
    wait_live(&server, "web", 2, &BTreeSet::new(), READY_TIMEOUT).await;
    // The app listens on PORT itself; Spindle moves that listen onto the worker's socket,
    // and PORT is the public port the app is reached on.
    assert_eq!(server.url(), format!("http://127.0.0.1:{port}"));
    for body in answers_from_both_workers(&server, "/").await {
        assert_eq!(body["app"], "env-app", "{body}");
        assert_eq!(body["port"], port.to_string(), "PORT the app sees: {body}");
    }
}

#[tokio::test]
async fn esm_app_that_listens_after_top_level_await_is_served() {
    // A PORT in the app's `env` wins over the one Spindle sets; the listen is moved all the same.
    let server = TestServer::new()
        .app("web", fixture("listen-esm"))
        .workers(2)
        .env("PORT", "4321")
        .start()
        .await;
    wait_live(&server, "web", 2, &BTreeSet::new(), READY_TIMEOUT).await;
    for body in answers_from_both_workers(&server, "/esm").await {
        assert_eq!(body["app"], "listen-esm", "{body}");
        assert_eq!(
            body["name"], "spindle-fixture-listen-esm",
            "read before listening, via import.meta.dirname: {body}"
        );
        assert_eq!(body["path"], "/esm", "{body}");
        assert_eq!(body["port"], "4321", "PORT from the app's env: {body}");
    }
}

/// An app that never listens, served by both its workers: each answers `path` with its
/// name and the path it saw. Returns the answers.
async fn served_without_listen(name: &str, path: &str) -> Vec<Value> {
    let server = start_two_workers(name).await;
    let bodies = answers_from_both_workers(&server, path).await;
    for body in &bodies {
        assert_eq!(body["app"], name, "{body}");
        assert_eq!(body["path"], path, "{body}");
    }
    bodies
}

#[tokio::test]
async fn esm_default_export_handler_is_served() {
    for body in served_without_listen("exports-handler", "/a/b?c=d").await {
        assert_eq!(body["method"], "GET");
    }
}

#[tokio::test]
async fn commonjs_create_export_is_served() {
    served_without_listen("exports-create", "/made").await;
}

#[tokio::test]
async fn app_calling_chdir_fails_saying_why_and_what_to_do_instead() {
    let (server_port, admin_port) = (free_port(), free_port());
    let server = TestServer::new()
        .app("web", fixture("chdir"))
        .workers(2)
        .app_config(json!({"maxFailedStarts": 2}))
        .server_port(server_port)
        .admin_port(admin_port)
        .spawn()
        .await;
    let dir = fixture("chdir").display().to_string();

    let line = server
        .wait_log(
            |line| line.is_msg("worker failed to start") && line.is_app("web"),
            READY_TIMEOUT,
        )
        .await;
    let worker = line.str("worker").unwrap_or_default();
    let error = line.str("error").unwrap_or_default();
    for expected in [
        format!("app \"web\" (worker {worker}) called process.chdir(\"{dir}\")"),
        "worker threads".to_string(),
        "share its working directory".to_string(),
        format!("resolve the app's files from its own directory ({dir})"),
        "path.join(__dirname, ...) or import.meta.dirname".to_string(),
        // The stack points at the app's call, and Node's code is kept for code that checks it.
        format!("at Object.<anonymous> ({dir}/index.js:6:"),
        "[ERR_WORKER_UNSUPPORTED_OPERATION]".to_string(),
    ] {
        assert!(
            error.contains(&expected),
            "the error names {expected:?}: {}",
            line.text
        );
    }

    // Readiness says why the app is down.
    let admin = format!("http://127.0.0.1:{admin_port}");
    let ready = poll(STEP_TIMEOUT, || async {
        let res = try_get(&format!("{admin}/ready")).await.ok()?;
        res.text().contains("process.chdir").then_some(res)
    })
    .await
    .unwrap_or_else(|| server.fail("/ready never gave the chdir error as its reason"));
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text()
    );
    let reason = ready.json()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("app web failed") && reason.contains("import.meta.dirname"),
        "/ready reason: {reason}"
    );
}

// --- Next.js -------------------------------------------------------------------------

/// `next start` on the fixture's build, as its own process group, killed when dropped.
struct NextStart {
    child: tokio::process::Child,
    url: String,
    output: Arc<Mutex<String>>,
}

impl NextStart {
    /// Starts `next start` on a free loopback port with the Node under test and waits for
    /// its "Ready" line.
    async fn start(dir: &Path) -> NextStart {
        let port = free_port();
        let node = test_node().unwrap_or_else(|| "node".into());
        let mut command = tokio::process::Command::new(node);
        command
            .arg(dir.join("node_modules/next/dist/bin/next"))
            .args([
                "start",
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .current_dir(dir)
            .env("NEXT_TELEMETRY_DISABLED", "1");
        // Its own group, ended by the kernel too if this test is killed.
        as_test_child(&mut command);
        let mut child = command.spawn().expect("spawn next start");
        let output = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        collect_lines(child.stdout.take().unwrap(), output.clone(), Some(ready_tx));
        collect_lines(child.stderr.take().unwrap(), output.clone(), None);
        let next = NextStart {
            child,
            url: format!("http://127.0.0.1:{port}"),
            output,
        };
        match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
            Ok(Ok(())) => next,
            Ok(Err(_)) => panic!("next start exited before it was ready:\n{}", next.output()),
            Err(_) => panic!(
                "next start was not ready within {READY_TIMEOUT:?}:\n{}",
                next.output()
            ),
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

/// Appends each line of `reader` to `sink`; sends on `ready` at Next's "Ready in" line
/// (dropping it unsent when the output ends first).
fn collect_lines(
    reader: impl AsyncRead + Unpin + Send + 'static,
    sink: Arc<Mutex<String>>,
    mut ready: Option<tokio::sync::oneshot::Sender<()>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Ready in") {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
            }
            let mut sink = sink.lock().unwrap();
            sink.push_str(&line);
            sink.push('\n');
        }
    });
}

impl Drop for NextStart {
    fn drop(&mut self) {
        // Only while unreaped: then its pid, and so its process group id, is still ours.
        if let (Ok(None), Some(pid)) = (self.child.try_wait(), self.child.id()) {
            // SAFETY: plain syscall on the process group created for this child.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
    }
}

/// The first `/_next/static/...js` URL path in an HTML page.
fn first_static_script(html: &str) -> Option<String> {
    let start = html.find("/_next/static/")?;
    let end = start + html[start..].find('"')?;
    let path = &html[start..end];
    path.ends_with(".js").then(|| path.to_string())
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn nextjs_app_serves_what_next_start_serves() {
    let dir = fixture("nextjs");
    assert!(
        dir.join(".next/BUILD_ID").is_file(),
        "{} has no production build: run scripts/test, or `npm run build` there",
        dir.display()
    );
    let server = TestServer::new()
        .app("web", &dir)
        .workers(2)
        .env("NEXT_TELEMETRY_DISABLED", "1")
        .start()
        .await;
    wait_live(&server, "web", 2, &BTreeSet::new(), READY_TIMEOUT).await;
    let next = NextStart::start(&dir).await;

    let home = get(&format!("{}/", server.url())).await;
    let asset = first_static_script(&home.text())
        .unwrap_or_else(|| panic!("no /_next/static/*.js in the home page: {}", home.text()));

    // (path, expected status, a piece of the body that shows the route really ran)
    let routes = [
        ("/", 200, "<p id=\"kind\">static page</p>"),
        ("/hello/spindle?times=3", 200, "<li>spindle #3</li>"),
        (
            "/api/hello?name=spindle",
            200,
            r#"{"framework":"nextjs","hello":"spindle"}"#,
        ),
        ("/spindle.svg", 200, "<svg"),
        (asset.as_str(), 200, ""),
        ("/no/such/page", 404, "This page could not be found."),
    ];
    for (path, status, marker) in routes {
        let ours = get(&format!("{}{path}", server.url())).await;
        let theirs = get(&format!("{}{path}", next.url)).await;
        let context = || format!("GET {path}\nspindle: {ours:?}\nnext start: {theirs:?}");
        assert_eq!(ours.status.as_u16(), status, "{}", context());
        assert!(ours.text().contains(marker), "{}", context());
        assert_eq!(ours.status, theirs.status, "{}", context());
        // The build is one .next/ for both, and Next puts no per-request value (nonce, time)
        // into these pages, so bodies and validators match byte for byte: nothing is
        // normalised.
        for name in ["content-type", "cache-control", "etag"] {
            assert_eq!(
                header(&ours, name),
                header(&theirs, name),
                "header {name}: {}",
                context()
            );
        }
        assert!(ours.body == theirs.body, "bodies differ: {}", context());
    }

    // Both workers run Next: the route reports the thread that rendered it.
    for body in answers_from_both_workers(&server, "/api/worker").await {
        assert_eq!(body["framework"], "nextjs", "{body}");
    }
    drop(next); // kills its process group
}
