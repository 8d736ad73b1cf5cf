//! `server.routes`: a second app on the public port under a path prefix, no gateway app.

use http::StatusCode;
use serde_json::json;
use spindle_e2e::client::get;
use spindle_e2e::{fixture, TestServer};

#[tokio::test]
async fn a_prefix_routes_to_its_app_without_the_prefix() {
    let server = TestServer::new()
        .app("web", fixture("mesh-api"))
        .app_config(json!({"env": {"MESH_APP_ID": "web"}}))
        .app("api", fixture("plain"))
        .entrypoint("web")
        .config_json(
            json!({"server": {"hostname": "127.0.0.1", "port": 0, "routes": {"/api": "api"}}}),
        )
        .start()
        .await;

    let routed = get(&format!("{}/api/users?x=1", server.url())).await;
    assert_eq!(routed.status, StatusCode::OK);
    let body = routed.json();
    assert_eq!(body["app"], "plain", "{body}");
    assert_eq!(
        body["url"], "/users?x=1",
        "the app sees the path below its prefix"
    );
    assert_eq!(body["headers"]["x-forwarded-prefix"], "/api");

    let root = get(&format!("{}/api", server.url())).await.json();
    assert_eq!(root["url"], "/");

    // Not routed: the entrypoint, including a path that only starts with the same letters.
    let entry = get(&format!("{}/whoami", server.url())).await.json();
    assert_eq!(entry["app"], "web", "{entry}");
    let lookalike = get(&format!("{}/apiary", server.url())).await;
    assert!(
        !lookalike.text().contains("\"app\":\"plain\""),
        "{}",
        lookalike.text()
    );
}
