//! `spindle start <dir>` with no config serves the app in that directory on port 3042.
//! This test binds a fixed port: nextest runs it in the `serial-default-port` group.

use std::net::TcpListener;

use spindle_e2e::client::get_json;
use spindle_e2e::{fixture, TestServer};

const DEFAULT_PORT: u16 = 3042;

#[tokio::test]
async fn no_config_serves_the_directory_app_on_the_default_port() {
    if let Err(err) = TcpListener::bind(("0.0.0.0", DEFAULT_PORT)) {
        eprintln!("SKIPPED: port {DEFAULT_PORT} is not free ({err}); cannot test the default port");
        return;
    }
    let server = TestServer::new()
        .without_config(fixture("plain"))
        .start()
        .await;
    assert!(
        server.url().ends_with(&format!(":{DEFAULT_PORT}")),
        "default port is {DEFAULT_PORT}: url {}",
        server.url()
    );
    let body = get_json(&format!("{}/", server.url())).await;
    assert_eq!(body["app"], "plain", "body: {body}");
}
