//! A worker that dies ends only itself: a request that cannot be retried gets a 502 that
//! names it, and a replacement with a fresh id takes over.

use http::StatusCode;
use spindle_e2e::client::{get, post};
use spindle_e2e::{fixture, TestServer, STEP_TIMEOUT};

#[tokio::test]
async fn a_worker_that_exits_mid_request_is_replaced() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;
    let first = get(&format!("{}/", server.url())).await.json()["threadId"].clone();

    // POST: not safe to repeat, so it is not retried on another worker.
    let res = post(&format!("{}/exit?code=7", server.url()), "x").await;
    assert_eq!(res.status, StatusCode::BAD_GATEWAY, "{}", res.text());
    let body = res.json();
    assert_eq!(body["error"], "worker_failed");
    assert_eq!(body["app"], "web");
    assert_eq!(body["worker"], "web:0");

    let crashed = server
        .wait_log(
            |l| l.is_msg("worker crashed") && l.str("worker") == Some("web:0"),
            STEP_TIMEOUT,
        )
        .await;
    assert_eq!(
        crashed.field("code").and_then(|c| c.as_i64()),
        Some(7),
        "{}",
        crashed.text
    );
    server.wait_serving_since(0, "web:1").await;

    let res = get(&format!("{}/", server.url())).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_ne!(res.json()["threadId"], first, "a new thread serves");
}

#[tokio::test]
async fn an_uncaught_exception_is_logged_with_its_stack_and_the_worker_replaced() {
    let server = TestServer::new()
        .app("web", fixture("plain"))
        .workers(2)
        .start()
        .await;
    let mark = server.log_mark();
    let res = get(&format!("{}/throw", server.url())).await;
    assert_eq!(res.status, StatusCode::OK);

    let crashed = server
        .wait_log_since(mark, |l| l.is_msg("worker crashed"), STEP_TIMEOUT)
        .await;
    let error = crashed.str("error").unwrap_or_default();
    assert!(
        error.contains("thrown by /throw"),
        "crash reason: {}",
        crashed.text
    );
    assert!(
        error.contains("index.js"),
        "crash reason has the stack: {}",
        crashed.text
    );
    let dead = crashed.str("worker").unwrap().to_string();

    server.wait_serving_since(mark, "web:2").await;
    // The other worker kept serving all along; now both answer again.
    for _ in 0..4 {
        assert_eq!(
            get(&format!("{}/", server.url())).await.status,
            StatusCode::OK
        );
    }
    assert!(dead == "web:0" || dead == "web:1", "{dead}");
}
