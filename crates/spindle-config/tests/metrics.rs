//! `metrics`: the admin server, its endpoint, basic auth and static labels.
//! Their error messages are locked in `errors.rs`.

mod common;

use std::collections::BTreeMap;

use common::{load, Project, ONE_APP};
use spindle_config::{MetricsAuth, MetricsConfig, DEFAULT_METRICS_ENDPOINT};

#[test]
fn defaults_fill_everything_not_written() {
    let config = load("metrics-defaults", ONE_APP);
    assert_eq!(config.metrics, MetricsConfig::default());

    // The defaults themselves, spelled out once.
    let metrics = &config.metrics;
    assert!(metrics.enabled);
    assert_eq!(metrics.hostname, "127.0.0.1");
    assert_eq!(metrics.port, 9090);
    assert_eq!(metrics.endpoint, "/metrics");
    assert_eq!(DEFAULT_METRICS_ENDPOINT, "/metrics");
    assert_eq!(metrics.auth, None);
    assert!(metrics.labels.is_empty());
}

#[test]
fn a_directory_without_config_gets_the_defaults() {
    let project = Project::new("metrics-no-config");
    project.file("index.js", "");
    assert_eq!(project.config_ok().metrics, MetricsConfig::default());
}

#[test]
fn every_key_is_read() {
    let config = load(
        "metrics-all-keys",
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "enabled": true,
    "hostname": "0.0.0.0",
    "port": 9100,
    "endpoint": "/internal/prom",
    "auth": { "username": "prom", "password": "s3cret" },
    "labels": { "region": "eu-west-1", "_tier": "", "Zone2": "b" }
  }
}"#,
    );
    let labels = BTreeMap::from([
        ("Zone2".to_owned(), "b".to_owned()),
        ("_tier".to_owned(), String::new()),
        ("region".to_owned(), "eu-west-1".to_owned()),
    ]);
    assert_eq!(
        config.metrics,
        MetricsConfig {
            enabled: true,
            hostname: "0.0.0.0".into(),
            port: 9100,
            endpoint: "/internal/prom".into(),
            auth: Some(MetricsAuth {
                username: "prom".into(),
                password: "s3cret".into(),
            }),
            labels,
            ..MetricsConfig::default()
        }
    );
}

#[test]
fn the_application_and_worker_labels_can_take_watts_names() {
    let config = load(
        "metrics-label-names",
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "applicationLabel": "applicationId", "workerLabel": "workerId", "labels": { "region": "eu" } }
}"#,
    );
    assert_eq!(config.metrics.application_label, "applicationId");
    assert_eq!(config.metrics.worker_label, "workerId");
    let defaults = MetricsConfig::default();
    assert_eq!(
        (
            defaults.application_label.as_str(),
            defaults.worker_label.as_str()
        ),
        ("app", "worker")
    );
}

#[test]
fn the_endpoint_may_be_the_root_or_near_a_probe_path() {
    for endpoint in ["/", "/ready/metrics", "/metrics/"] {
        let config = load(
            "metrics-endpoint",
            &format!(
                r#"{{
  "applications": [{{ "id": "api", "path": "api" }}],
  "metrics": {{ "endpoint": "{endpoint}" }}
}}"#
            ),
        );
        assert_eq!(config.metrics.endpoint, endpoint);
    }
}

#[test]
fn auth_labels_and_endpoint_take_placeholders() {
    let project = Project::new("metrics-placeholders")
        .env("METRICS_USER", "prom")
        .env("REGION", "eu-west-1");
    project
        .app("api")
        .file(".env", "METRICS_PASSWORD=from-dotenv\nMETRICS_PATH=/prom\n")
        .config(
            r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "endpoint": "{METRICS_PATH}",
    "auth": { "username": "{METRICS_USER}", "password": "{{METRICS_PASSWORD}}" },
    "labels": { "region": "{REGION}" }
  }
}"#,
        );
    let metrics = project.config_ok().metrics;
    assert_eq!(metrics.endpoint, "/prom");
    let auth = metrics.auth.expect("auth is set");
    assert_eq!(auth.username, "prom");
    assert_eq!(auth.password, "from-dotenv");
    assert_eq!(metrics.labels["region"], "eu-west-1");
}

#[test]
fn the_password_is_redacted_when_serialized_or_debug_printed() {
    let config = load(
        "metrics-redacted",
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "auth": { "username": "prom", "password": "s3cret" },
    "labels": { "region": "eu" }
  }
}"#,
    );
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(
        json["metrics"],
        serde_json::json!({
            "enabled": true,
            "hostname": "127.0.0.1",
            "port": 9090,
            "endpoint": "/metrics",
            "auth": { "username": "prom", "password": "***" },
            "labels": { "region": "eu" },
            "application_label": "app",
            "worker_label": "worker"
        })
    );
    let text = serde_json::to_string(&config).unwrap();
    assert!(!text.contains("s3cret"), "{text}");
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains(r#"password: "***""#), "{debug}");
    // The value itself is intact for the server that checks it.
    assert_eq!(config.metrics.auth.unwrap().password, "s3cret");
}

#[test]
fn without_auth_the_serialized_auth_is_null() {
    let config = load("metrics-no-auth", ONE_APP);
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(json["metrics"]["auth"], serde_json::Value::Null);
    assert_eq!(json["metrics"]["labels"], serde_json::json!({}));
}
