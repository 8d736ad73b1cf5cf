//! `spindle dev`: editing an app's file swaps its workers (replace-before-stop) without a
//! failed request.

use std::time::Duration;

use spindle_e2e::client::get;
use spindle_e2e::load::Load;
use spindle_e2e::{TempDir, TestServer, STEP_TIMEOUT};

const APP: &str = r#"'use strict'
const VERSION = 'v1'
require('node:http')
  .createServer((req, res) => res.end(JSON.stringify({ version: VERSION })))
  .listen(process.env.PORT || 3000)
"#;

#[tokio::test]
async fn editing_a_file_changes_the_answer_without_a_failed_request() {
    let dir = TempDir::new();
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("index.js"), APP).unwrap();
    let server = TestServer::new()
        .app("web", &app)
        .workers(2)
        .dev()
        .start()
        .await;
    server
        .wait_log(
            |l| l.msg().is_some_and(|m| m.starts_with("dev mode")),
            STEP_TIMEOUT,
        )
        .await;
    assert_eq!(
        get(&format!("{}/", server.url())).await.json()["version"],
        "v1"
    );

    let load = Load::get(server.url(), "/")
        .clients(4)
        .limits(50_000, Duration::from_secs(20))
        .start();
    load.assert_going(50).await;
    let mark = server.log_mark();
    std::fs::write(app.join("index.js"), APP.replace("'v1'", "'v2'")).unwrap();
    server
        .wait_msg_since(mark, "file changed: restarting the app")
        .await;
    server
        .wait_log_since(mark, |l| l.is_msg("app restarted"), STEP_TIMEOUT)
        .await;
    // Both old workers leave only after their successors serve.
    for old in ["web:0", "web:1"] {
        server
            .wait_log_since(
                mark,
                |l| l.is_msg("worker exited") && l.str("worker") == Some(old),
                STEP_TIMEOUT,
            )
            .await;
    }
    load.stop();
    let report = load.finish().await;
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert_eq!(
        get(&format!("{}/", server.url())).await.json()["version"],
        "v2"
    );
}
