//! Real framework apps from npm, and the two export shapes that do not listen.

use spindle_e2e::client::get_json;
use spindle_e2e::{fixture, TestServer, STEP_TIMEOUT};

async fn check_framework(name: &str) -> spindle_e2e::Running {
    let server = TestServer::new().app("web", fixture(name)).start().await;

    let root = get_json(&format!("{}/", server.url())).await;
    assert_eq!(root["framework"], name, "GET /: {root}");
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
async fn esm_default_export_handler_is_served() {
    let server = TestServer::new()
        .app("web", fixture("exports-handler"))
        .start()
        .await;
    let body = get_json(&format!("{}/a/b?c=d", server.url())).await;
    assert_eq!(body["app"], "exports-handler");
    assert_eq!(body["path"], "/a/b?c=d");
    assert_eq!(body["method"], "GET");
}

#[tokio::test]
async fn commonjs_create_export_is_served() {
    let server = TestServer::new()
        .app("web", fixture("exports-create"))
        .start()
        .await;
    let body = get_json(&format!("{}/made", server.url())).await;
    assert_eq!(body["app"], "exports-create");
    assert_eq!(body["path"], "/made");
}
