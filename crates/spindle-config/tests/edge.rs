//! The public port's timeouts, limits and trusted proxies (`server.*`, `responseTimeout`).

mod common;

use std::time::Duration;

use common::{load, Project, ONE_APP};
use spindle_config::{EdgeConfig, TrustProxy};

fn error(name: &str, config: &str) -> String {
    Project::with_apps(name, config).error()
}

#[test]
fn defaults() {
    let config = load("edge-defaults", ONE_APP);
    let edge = &config.server.edge;
    assert_eq!(*edge, EdgeConfig::default());
    assert_eq!(edge.headers_timeout, Duration::from_secs(10));
    assert_eq!(edge.keep_alive_timeout, Duration::from_secs(5));
    assert_eq!(edge.body_timeout, Duration::from_secs(60));
    assert_eq!(edge.max_connections, 10_000);
    assert_eq!(edge.max_body_size, None);
    assert_eq!(edge.trust_proxy, TrustProxy::Nobody);
    let api = config.application("api").unwrap();
    assert_eq!(api.faults.response_timeout, Some(Duration::from_secs(60)));
}

#[test]
fn every_key_is_read() {
    let config = load(
        "edge-all",
        r#"{
  "applications": [
    { "id": "api", "path": "api", "responseTimeout": 0 },
    { "id": "web", "path": "web" }
  ],
  "entrypoint": "web",
  "responseTimeout": 1500,
  "server": {
    "headersTimeout": 2000,
    "keepAliveTimeout": "3000",
    "bodyTimeout": 4000,
    "maxConnections": 50,
    "maxBodySize": "1MB",
    "trustProxy": "10.0.0.0/8, loopback"
  }
}"#,
    );
    let edge = &config.server.edge;
    assert_eq!(edge.headers_timeout, Duration::from_millis(2000));
    assert_eq!(edge.keep_alive_timeout, Duration::from_millis(3000));
    assert_eq!(edge.body_timeout, Duration::from_millis(4000));
    assert_eq!(edge.max_connections, 50);
    assert_eq!(edge.max_body_size, Some(1024 * 1024));
    assert!(edge.trust_proxy.trusts_peer("10.2.3.4".parse().unwrap()));
    assert!(edge.trust_proxy.trusts_peer("::1".parse().unwrap()));
    assert!(!edge.trust_proxy.trusts_peer("8.8.8.8".parse().unwrap()));
    // 0 turns the limit off for that app; the other gets the top level's.
    assert_eq!(
        config.application("api").unwrap().faults.response_timeout,
        None
    );
    assert_eq!(
        config.application("web").unwrap().faults.response_timeout,
        Some(Duration::from_millis(1500))
    );
}

#[test]
fn trust_proxy_takes_every_spelling() {
    let read = |value: &str| {
        let text = format!(
            r#"{{ "applications": [{{ "id": "api", "path": "api" }}], "server": {{ "trustProxy": {value} }} }}"#
        );
        load("edge-trust", &text).server.edge.trust_proxy
    };
    assert_eq!(read("false"), TrustProxy::Nobody);
    assert_eq!(read("true"), TrustProxy::Everyone);
    assert_eq!(read("2"), TrustProxy::Hops(2));
    assert_eq!(read("0"), TrustProxy::Nobody);
    let list = read(r#"["192.168.0.0/16", "fd00::/8"]"#);
    assert!(list.trusts_peer("192.168.1.1".parse().unwrap()));
    assert!(list.trusts_peer("fd00::2".parse().unwrap()));
    assert!(!list.trusts_peer("127.0.0.1".parse().unwrap()));
}

#[test]
fn bad_values_name_the_key() {
    let bad = |server: &str| {
        error(
            "edge-bad",
            &format!(
                "{{\n  \"applications\": [{{ \"id\": \"api\", \"path\": \"api\" }}],\n  \"server\": {server}\n}}"
            ),
        )
    };
    assert_eq!(
        bad(r#"{ "trustProxy": "10.0.0.0/33" }"#),
        "/x/spindle.json:3:29: server.trustProxy: \"10.0.0.0/33\": the prefix length must be 0 to 32"
    );
    assert_eq!(
        bad(r#"{ "trustProxy": "proxy.example" }"#),
        "/x/spindle.json:3:29: server.trustProxy: \"proxy.example\" is not an IP address or a CIDR block"
    );
    assert_eq!(
        bad(r#"{ "maxConnections": 0 }"#),
        "/x/spindle.json:3:33: server.maxConnections: expected a number of connections from 1 to \
         4294967295, got 0"
    );
    assert_eq!(
        bad(r#"{ "headersTimeout": 0 }"#),
        "/x/spindle.json:3:33: server.headersTimeout: expected a positive number of milliseconds, got 0"
    );
    assert_eq!(
        bad(r#"{ "maxBodySize": -1 }"#),
        "/x/spindle.json:3:30: server.maxBodySize: expected a positive size, got -1"
    );
}
