//! Watt projects, served by `spindle start DIR` with no edit: the config, `.env` and apps
//! are the project's own, and the test changes only the process environment (the ports
//! its `{PLACEHOLDER}`s name), as an operator would.
//!
//! - `watt-create` is the project `wattpm create` (Watt 3.67) writes: a root `watt.json`
//!   with `watch`, `managementApi`, `autoload`, `logger` and `server` from `.env`
//!   placeholders, npm workspaces, and one `@platformatic/node` app under `web/` whose
//!   `index.js` exports `create()` and logs through `getLogger()` of the real
//!   `@platformatic/globals`. Only its dependencies differ from what `wattpm create` writes,
//!   since Spindle runs neither and they would install hundreds of packages: the root
//!   `package.json` leaves out `wattpm`, `platformatic` and `@platformatic/runtime`, and the
//!   app depends on `@platformatic/globals` instead of `@platformatic/node`.
//! - `watt-multi` grows it into two apps: a Fastify app given its id by
//!   `autoload.mappings`, logging through `getLogger()`, and an entrypoint named only by
//!   `node.main` that calls it over `http://catalogue.plt.local`; a `metrics` section from
//!   placeholders, and a `telemetry` section, which has no effect in Spindle.
//!
//! The project `wattpm create` writes has no `metrics` key, so its admin server is on
//! Spindle's default port 9090: that test runs in nextest's `default-port` group.

use std::net::TcpListener;
use std::path::Path;

use http::StatusCode;
use serde_json::{json, Value};
use spindle_e2e::client::{get, get_json, poll};
use spindle_e2e::{fixture, LogLine, Running, Stream, TestServer, READY_TIMEOUT, STEP_TIMEOUT};

/// Spindle's default admin port, which a project without `metrics` gets.
const DEFAULT_ADMIN_PORT: u16 = 9090;

/// Lines that warn: Spindle's `spindle: warning:` on stderr, and any log line at warn or
/// above (pino's numeric levels, or the name of one).
fn warnings(server: &Running) -> Vec<String> {
    server
        .logs()
        .into_iter()
        .filter(|line| match line.stream {
            Stream::Stderr => true,
            Stream::Stdout => is_warning_or_worse(line),
        })
        .map(|line| line.text)
        .collect()
}

fn is_warning_or_worse(line: &LogLine) -> bool {
    match line.field("level") {
        Some(Value::Number(level)) => level.as_u64().is_some_and(|level| level >= 40),
        Some(Value::String(level)) => matches!(level.as_str(), "warn" | "error" | "fatal"),
        _ => false,
    }
}

/// 1-based line and column of the first `needle` in `file`.
fn position_of(file: &Path, needle: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|err| panic!("read {}: {err}", file.display()));
    text.lines()
        .enumerate()
        .find_map(|(index, line)| {
            line.find(needle)
                .map(|at| (index + 1, line[..at].chars().count() + 1))
        })
        .unwrap_or_else(|| panic!("{needle} is not in {}", file.display()))
}

/// `app`'s GET 2xx count, once it reaches `want` (it is recorded as the answer leaves, so a
/// scrape right after the answer may not show it yet).
async fn gets_ok_reaching(server: &Running, app: &str, want: f64) -> f64 {
    let labels = [("method", "GET"), ("code_class", "2xx")];
    let reached = poll(STEP_TIMEOUT, || async {
        let now = server.requests_total(app, &labels).await;
        (now >= want).then_some(now)
    })
    .await;
    match reached {
        Some(count) => count,
        None => server.fail(&format!(
            "{app}'s GET 2xx count never reached {want}:\n{}",
            server.scrape_metrics().await
        )),
    }
}

/// `managementApi: "{PLT_MANAGEMENT_API}"` (`true` in the `.env`) opens the management
/// socket: `spindle ps` finds this server and lists its apps as `(id, entrypoint)`, and
/// the project's config file.
async fn apps_listed_by_ps(server: &Running) -> (Vec<(String, bool)>, String) {
    let ps = server.cli(&["ps", "--json"]).await.assert_ok().json();
    let apps = ps["apps"]
        .as_array()
        .unwrap_or_else(|| server.fail(&format!("no apps in ps --json: {ps}")))
        .iter()
        .map(|app| {
            let id = app["id"].as_str().unwrap_or_default().to_owned();
            (id, app["entrypoint"] == json!(true))
        })
        .collect();
    (apps, ps["config"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn the_project_wattpm_create_writes_starts_unchanged_without_a_warning() {
    // Tests of this suite that take it run one at a time; another program may hold it for
    // a while (another checkout's tests).
    let free = poll(READY_TIMEOUT, || async {
        TcpListener::bind(("127.0.0.1", DEFAULT_ADMIN_PORT))
            .ok()
            .map(drop)
    })
    .await;
    if free.is_none() {
        eprintln!(
            "SKIPPED: port {DEFAULT_ADMIN_PORT} stayed taken; the project's admin server \
             takes Spindle's default port"
        );
        return;
    }
    let dir = fixture("watt-create");
    // The .env says PORT=3042; the environment wins over it, as in Watt.
    let server = TestServer::new()
        .project(&dir)
        .process_env("PORT", "0")
        .process_env("PLT_SERVER_HOSTNAME", "127.0.0.1")
        .start()
        .await;
    assert!(
        server.url().starts_with("http://127.0.0.1:") && !server.url().ends_with(":3042"),
        "served on loopback at the port from the environment: {}",
        server.url()
    );
    assert_eq!(
        server.admin_url(),
        format!("http://127.0.0.1:{DEFAULT_ADMIN_PORT}")
    );

    let mark = server.log_mark();
    let answer = get_json(&format!("{}/", server.url())).await;
    assert_eq!(answer, json!({"hello": "world"}), "the app's own answer");

    // The app's getLogger() line, labelled like the app's own output.
    let logged = server
        .wait_log_since(mark, |l| l.msg() == Some("serving a request"), STEP_TIMEOUT)
        .await;
    assert_eq!(logged.field("level"), Some(&json!(30)), "{}", logged.text);
    assert_eq!(logged.str("app"), Some("hello"), "{}", logged.text);
    assert_eq!(logged.str("name"), Some("hello"), "{}", logged.text);
    let worker = logged.str("worker").and_then(|w| w.strip_prefix("hello:"));
    assert!(
        worker.is_some_and(|n| n.parse::<u32>().is_ok()),
        "labelled with the worker: {}",
        logged.text
    );
    assert_eq!(logged.str("url"), Some("/"), "{}", logged.text);

    // `watch: true`: the app's files are watched, as in Watt.
    server
        .wait_msg_since(0, "dev mode: watching app files for changes")
        .await;
    assert!(gets_ok_reaching(&server, "hello", 1.0).await >= 1.0);
    let (apps, config) = apps_listed_by_ps(&server).await;
    assert_eq!(apps, [("hello".to_owned(), true)]);
    assert_eq!(config, dir.join("watt.json").display().to_string());
    assert_eq!(
        warnings(&server),
        Vec::<String>::new(),
        "a project as wattpm create writes it gives no warning"
    );
}

/// The first line the `catalogue` app logs with `msg` from line `mark` on.
async fn catalogue_line(server: &Running, mark: usize, msg: &str) -> LogLine {
    server
        .wait_log_since(
            mark,
            |l| l.msg() == Some(msg) && l.is_app("catalogue"),
            STEP_TIMEOUT,
        )
        .await
}

#[tokio::test]
async fn a_multi_app_watt_project_serves_calls_over_the_mesh_and_warns_once() {
    let dir = fixture("watt-multi");
    let server = TestServer::new()
        .project(&dir)
        .process_env("PORT", "0")
        .process_env("PLT_SERVER_HOSTNAME", "127.0.0.1")
        .process_env("PLT_METRICS_PORT", "0")
        .start()
        .await;
    assert!(
        server.url().starts_with("http://127.0.0.1:"),
        "{}",
        server.url()
    );

    // The entrypoint, found by node.main alone, asks the Fastify app (its id from
    // autoload.mappings) over the mesh with fetch.
    let mark = server.log_mark();
    let answer = get_json(&format!("{}/", server.url())).await;
    let entry = format!("file://{}", dir.join("web/front/src/server.js").display());
    assert_eq!(answer["entry"].as_str(), Some(entry.as_str()), "{answer}");
    assert_eq!(answer["status"], 200, "the mesh call: {answer}");
    let catalogue = &answer["catalogue"];
    assert_eq!(catalogue["app"], "catalogue", "{answer}");
    assert_eq!(catalogue["host"], "catalogue.plt.local", "{answer}");
    assert_eq!(catalogue["products"][0]["sku"], "tea", "{answer}");
    let worker = match catalogue["workerId"].as_u64() {
        Some(index) => format!("catalogue:{index}"),
        None => server.fail(&format!("no workerId: {answer}")),
    };

    // Fastify logs through getLogger(): the lines are labelled, and its request and reply
    // are logged through Fastify's own serializers.
    let listing = server
        .wait_log_since(mark, |l| l.msg() == Some("listing products"), STEP_TIMEOUT)
        .await;
    assert_eq!(listing.str("app"), Some("catalogue"), "{}", listing.text);
    assert_eq!(listing.str("name"), Some("catalogue"), "{}", listing.text);
    assert_eq!(
        listing.str("worker"),
        Some(worker.as_str()),
        "{}",
        listing.text
    );
    assert_eq!(listing.field("count"), Some(&json!(2)), "{}", listing.text);
    let request_id = listing.str("reqId").map(str::to_owned);
    assert!(
        request_id.is_some(),
        "Fastify's request id: {}",
        listing.text
    );
    let incoming = catalogue_line(&server, mark, "incoming request").await;
    let req = incoming.field("req").cloned().unwrap_or_default();
    assert_eq!(req["method"], "GET", "{}", incoming.text);
    assert_eq!(req["url"], "/products", "{}", incoming.text);
    assert_eq!(req["host"], "catalogue.plt.local", "{}", incoming.text);
    assert!(
        req.get("raw").is_none() && incoming.text.len() < 1000,
        "the request through Fastify's serializer, not the whole object: {}",
        incoming.text
    );
    assert_eq!(
        incoming.str("reqId"),
        request_id.as_deref(),
        "{}",
        incoming.text
    );
    let completed = catalogue_line(&server, mark, "request completed").await;
    assert_eq!(
        completed.field("res"),
        Some(&json!({"statusCode": 200})),
        "{}",
        completed.text
    );

    // Metrics on the admin port the environment gave, for both apps.
    assert!(
        !server.admin_url().ends_with(":9090"),
        "{}",
        server.admin_url()
    );
    assert!(gets_ok_reaching(&server, "front", 1.0).await >= 1.0);
    assert!(gets_ok_reaching(&server, "catalogue", 1.0).await >= 1.0);
    let (apps, config) = apps_listed_by_ps(&server).await;
    assert_eq!(
        apps,
        [("catalogue".to_owned(), false), ("front".to_owned(), true)]
    );
    assert_eq!(config, dir.join("watt.json").display().to_string());
    let res = get(&format!("{}/ready", server.admin_url())).await;
    assert_eq!(res.status, StatusCode::OK, "/ready: {}", res.text());

    // Exactly one warning, and it names the file, the position and the key; the rest of
    // the project (mappings, node.main, metrics and server from placeholders) warns of
    // nothing.
    let file = dir.join("watt.json");
    let (line, column) = position_of(&file, "\"type\"");
    assert_eq!(
        warnings(&server),
        [format!(
            "spindle: warning: {}:{line}:{column}: telemetry.exporter.type: has no effect in \
             Spindle: the core exports spans over OTLP/HTTP only; no spans are made (write \
             \"type\": \"otlp\" and send them to a collector)",
            file.display()
        )]
    );
}
