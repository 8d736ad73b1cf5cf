//! Watt's `globalThis.platformatic`, read through the real `@platformatic/globals` from npm:
//! the app's ids, a logger whose lines reach Spindle's log output labelled like the app's
//! own, and the `close` event on stop.

use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};
use spindle_e2e::client::get;
use spindle_e2e::{fixture, LogLine, Running, TestServer, STEP_TIMEOUT};

async fn globals(url: &str) -> Value {
    let res = get(url).await;
    assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.text());
    serde_json::from_str(&res.text()).expect("the fixture answers JSON")
}

/// The worker label of the worker that answered `answer`.
fn worker_of(app: &str, answer: &Value) -> String {
    let index = answer["workerId"]
        .as_u64()
        .expect("workerId is the worker's number");
    format!("{app}:{index}")
}

async fn line_with_msg(server: &Running, mark: usize, msg: &str) -> LogLine {
    server
        .wait_log_since(mark, |l| l.msg() == Some(msg), STEP_TIMEOUT)
        .await
}

#[tokio::test]
async fn globals_name_the_app_and_worker_and_its_logger_writes_labelled_pino_lines() {
    let dir = fixture("watt-globals");
    let server = TestServer::new()
        .app("web", &dir)
        .workers(2)
        .app("api", &dir)
        .entrypoint("web")
        .config_json(json!({"server": {"routes": {"/api": "api"}}}))
        .start()
        .await;
    let ready = server
        .wait_log(|l| l.is_msg("spindle ready"), STEP_TIMEOUT)
        .await;

    let web = globals(&format!("{}/", server.url())).await;
    let root = format!("file://{}", dir.display());
    assert_eq!(web["applicationId"], "web", "{web}");
    assert_eq!(
        web["direct"], "web",
        "globalThis.platformatic read directly"
    );
    assert_eq!(web["isEntrypoint"], true);
    assert_eq!(web["basePath"], Value::Null);
    assert_eq!(web["root"].as_str(), Some(root.as_str()));
    assert_eq!(web["logLevel"], "info");
    assert_eq!(
        web["prometheus"], false,
        "the app has no prom-client: prometheus is not set"
    );

    let api = globals(&format!("{}/api/", server.url())).await;
    assert_eq!(api["applicationId"], "api", "{api}");
    assert_eq!(api["isEntrypoint"], false);
    assert_eq!(
        api["basePath"], "/api/",
        "the route prefix, as Watt writes it"
    );

    let mark = server.log_mark();
    let answer = globals(&format!("{}/log?tag=t1", server.url())).await;
    let worker = worker_of("web", &answer);
    let info = line_with_msg(&server, mark, "logged t1").await;
    assert_eq!(info.field("level"), Some(&json!(30)), "{}", info.text);
    assert_eq!(info.str("app"), Some("web"));
    assert_eq!(info.str("worker"), Some(worker.as_str()));
    assert_eq!(info.str("name"), Some("web"), "pino's name is the app id");
    assert_eq!(info.str("component"), Some("fixture"), "child bindings");
    assert_eq!(info.field("n"), Some(&json!(1)));
    assert_eq!(info.field("stream"), None, "a pino line, not wrapped text");
    assert_eq!(info.field("pid"), Some(&json!(server.pid())));
    assert!(
        ready.str("hostname").is_some_and(|h| !h.is_empty()),
        "{}",
        ready.text
    );
    assert_eq!(
        info.str("hostname"),
        ready.str("hostname"),
        "the app's lines and Spindle's name the same host"
    );

    let error = line_with_msg(&server, mark, "failed t1").await;
    assert_eq!(error.field("level"), Some(&json!(50)), "{}", error.text);
    assert_eq!(error.str("worker"), Some(worker.as_str()));
    let err = error
        .field("err")
        .expect("the error is serialised under err");
    assert_eq!(err["type"], "Error");
    assert_eq!(err["code"], "E_FIXTURE");
    assert!(
        err["stack"]
            .as_str()
            .is_some_and(|s| s.contains("failed t1")),
        "{err}"
    );
    // Logged before the two above, below the configured level (info).
    assert!(
        !server.logs()[mark..]
            .iter()
            .any(|l| l.msg() == Some("below the level")),
        "a debug line was written at level info"
    );

    let mark = server.log_mark();
    let answer = globals(&format!("{}/pino?tag=t2", server.url())).await;
    let labelled = line_with_msg(&server, mark, "string level").await;
    assert_eq!(labelled.str("level"), Some("warn"), "{}", labelled.text);
    assert_eq!(labelled.str("tag"), Some("t2"));
    assert_eq!(labelled.str("app"), Some("web"));
    assert_eq!(labelled.str("name"), Some("web"));
    assert_eq!(
        labelled.str("worker"),
        Some(worker_of("web", &answer).as_str())
    );
}

#[tokio::test]
async fn close_is_emitted_on_stop_before_the_server_closes() {
    let server = TestServer::new()
        .app("web", fixture("watt-globals"))
        .start()
        .await;
    let answer = globals(&format!("{}/", server.url())).await;
    let mark = server.log_mark();
    server.sigterm();
    let close = line_with_msg(&server, mark, "close event").await;
    assert_eq!(
        close.str("worker"),
        Some(worker_of("web", &answer).as_str())
    );
    assert_eq!(
        close.field("listening"),
        Some(&json!(true)),
        "the app's async close listener ran while its server still listened: {}",
        close.text
    );
    let status = server.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "exit status {status}");
}
