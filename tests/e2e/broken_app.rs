//! An app that throws while loading: a clear error naming app, file and message; not ready.

use std::time::Duration;

use http::StatusCode;
use spindle_e2e::client::get_when_up;
use spindle_e2e::{fixture, free_port, Running, TestServer, READY_TIMEOUT};

/// Starts the broken fixture on known ports (it never prints the ready line with URLs).
async fn start_broken() -> (Running, String, String) {
    let (server_port, admin_port) = (free_port(), free_port());
    let server = TestServer::new()
        .app("web", fixture("broken"))
        .server_port(server_port)
        .admin_port(admin_port)
        .spawn()
        .await;
    (
        server,
        format!("http://127.0.0.1:{server_port}"),
        format!("http://127.0.0.1:{admin_port}"),
    )
}

#[tokio::test]
async fn load_error_is_logged_with_app_file_and_message() {
    let (server, _, admin) = start_broken().await;
    let entry = fixture("broken").join("index.js").display().to_string();

    let line = server
        .wait_log(
            |line| line.text.contains("boom at load") && line.text.contains(&entry),
            READY_TIMEOUT,
        )
        .await;
    assert!(
        line.is_app("web"),
        "the error line names the app id `web` in `app` or `worker`: {}",
        line.text
    );

    // The admin server answers, and the app is not ready.
    let ready = get_when_up(&format!("{admin}/ready"), Duration::from_secs(10)).await;
    assert_ne!(
        ready.status,
        StatusCode::OK,
        "/ready with a broken app: {}",
        ready.text()
    );
    assert!(
        !server.logs().iter().any(|l| l.is_msg("spindle ready")),
        "spindle must not announce ready"
    );
}

#[tokio::test]
async fn ingress_answers_503_json_while_no_worker_is_ready() {
    let (server, url, _) = start_broken().await;
    server
        .wait_log(|line| line.text.contains("boom at load"), READY_TIMEOUT)
        .await;

    let response = get_when_up(&format!("{url}/"), Duration::from_secs(10)).await;
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "body: {}",
        response.text()
    );
    let body = response.json();
    assert!(body.get("error").is_some(), "503 body has `error`: {body}");
    assert_eq!(body["app"], "web", "503 body names the app: {body}");
}
