//! A plain node:http app: responses, forwarded headers, probes, workers, env, logs.

use std::collections::BTreeSet;

use http::StatusCode;
use serde_json::Value;
use spindle_e2e::client::{get, get_json};
use spindle_e2e::{fixture, test_node, LogLine, Running, TestServer, READY_TIMEOUT, STEP_TIMEOUT};

/// Waits until `n` distinct workers of `app` have logged "worker ready".
pub async fn wait_workers_ready(server: &Running, app: &str, n: usize) {
    let mut ready = BTreeSet::new();
    server
        .wait_log(
            |line: &LogLine| {
                if line.is_msg("worker ready") && line.is_app(app) {
                    if let Some(worker) = line.str("worker") {
                        ready.insert(worker.to_string());
                    }
                }
                ready.len() >= n
            },
            READY_TIMEOUT,
        )
        .await;
}

#[tokio::test]
async fn plain_app_answers_with_forwarded_headers() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;

    let response = get(&format!("{}/some/path?x=1", server.url())).await;
    assert_eq!(response.status, StatusCode::OK, "body: {}", response.text());
    let body = response.json();
    assert_eq!(body["app"], "plain");
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/some/path");
    assert_eq!(body["url"], "/some/path?x=1");
    assert!(
        body["threadId"].as_u64().is_some_and(|id| id > 0),
        "the app should run in a worker thread, not the main thread: {body}"
    );

    let headers = &body["headers"];
    assert_eq!(
        headers["x-forwarded-for"], "127.0.0.1",
        "headers: {headers}"
    );
    assert_eq!(headers["x-forwarded-proto"], "http", "headers: {headers}");
    assert_eq!(
        headers["x-forwarded-host"],
        server.addr(),
        "headers: {headers}"
    );
    assert_eq!(headers["host"], server.addr(), "headers: {headers}");
}

/// The version the apps should run on: that of `$SPINDLE_TEST_NODE`, else of `node` on PATH.
fn expected_node_version() -> String {
    let node = test_node().unwrap_or_else(|| "node".into());
    let output = std::process::Command::new(&node)
        .arg("--version")
        .output()
        .unwrap_or_else(|err| panic!("run {} --version: {err}", node.display()));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[tokio::test]
async fn apps_run_on_the_selected_node() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;
    let body = get_json(&format!("{}/", server.url())).await;
    assert_eq!(
        body["node"].as_str(),
        Some(expected_node_version().as_str()),
        "SPINDLE_TEST_NODE={:?}",
        test_node()
    );
}

#[tokio::test]
async fn admin_answers_live_and_ready() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;

    let live = get(&format!("{}/live", server.admin_url())).await;
    assert_eq!(live.status, StatusCode::OK, "/live body: {}", live.text());
    let ready = get(&format!("{}/ready", server.admin_url())).await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "/ready body: {}",
        ready.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_concurrent_requests() {
    let server = TestServer::new()
        .app("web", fixture("plain"))
        .workers(2)
        .start()
        .await;
    wait_workers_ready(&server, "web", 2).await;

    let url = format!("{}/slow?ms=20", server.url());
    let requests = (0..60).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { get_json(&url).await })
    });
    let mut threads = BTreeSet::new();
    let mut pids = BTreeSet::new();
    for request in requests {
        let body: Value = request.await.expect("request task");
        threads.insert(body["threadId"].as_u64().expect("threadId"));
        pids.insert(body["pid"].as_u64().expect("pid"));
    }
    assert!(
        threads.len() >= 2,
        "60 concurrent requests to 2 workers were all answered by threads {threads:?}"
    );
    assert_eq!(
        pids.len(),
        1,
        "all workers live in one process: pids {pids:?}"
    );
}

#[tokio::test]
async fn env_app_sees_dotenv_and_config_env() {
    let server = TestServer::new()
        .app("web", fixture("env-app"))
        .env("FROM_CONFIG", "from-spindle-json")
        .start()
        .await;

    let body = get_json(&format!("{}/", server.url())).await;
    assert_eq!(body["app"], "env-app");
    assert_eq!(
        body["greeting"], "hello-from-dotenv",
        "from the app's .env: {body}"
    );
    assert_eq!(
        body["fromConfig"], "from-spindle-json",
        "from the config's env: {body}"
    );
}

#[tokio::test]
async fn entrypoint_picks_the_app_behind_the_ingress() {
    let server = TestServer::new()
        .app("web", fixture("plain"))
        .app("api", fixture("exports-create"))
        .entrypoint("api")
        .start()
        .await;

    let body = get_json(&format!("{}/x", server.url())).await;
    assert_eq!(
        body["app"], "exports-create",
        "the entrypoint is `api`: {body}"
    );
}

#[tokio::test]
async fn worker_output_becomes_labelled_json_lines() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;

    // A plain console.log line is wrapped.
    let plain = server
        .wait_log(
            |line| {
                line.msg()
                    .is_some_and(|msg| msg.starts_with("plain app loaded in thread"))
            },
            STEP_TIMEOUT,
        )
        .await;
    assert_eq!(plain.str("app"), Some("web"), "line: {}", plain.text);
    assert_eq!(plain.str("stream"), Some("stdout"), "line: {}", plain.text);
    assert!(
        plain.str("worker").is_some_and(|w| w.starts_with("web:")),
        "line: {}",
        plain.text
    );
    assert!(plain.field("level").is_some(), "line: {}", plain.text);
    assert!(plain.field("time").is_some(), "line: {}", plain.text);

    // A pino-style JSON line keeps its fields and gains the labels.
    let pino = server
        .wait_log(|line| line.msg() == Some("plain pino line"), STEP_TIMEOUT)
        .await;
    assert_eq!(pino.str("app"), Some("web"), "line: {}", pino.text);
    assert!(
        pino.str("worker").is_some_and(|w| w.starts_with("web:")),
        "line: {}",
        pino.text
    );
    assert_eq!(pino.str("fixture"), Some("plain"), "line: {}", pino.text);
    assert_eq!(
        pino.field("level"),
        Some(&Value::from(30)),
        "line: {}",
        pino.text
    );

    // The coordinator's lifecycle line names the worker.
    let ready = server
        .wait_log(|line| line.is_msg("worker ready"), STEP_TIMEOUT)
        .await;
    assert!(
        ready.str("worker").is_some_and(|w| w.starts_with("web:")),
        "line: {}",
        ready.text
    );
}
