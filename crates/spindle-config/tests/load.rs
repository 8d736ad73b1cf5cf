//! Finding the config, defaults, and serving a directory without a config.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use common::{Project, ONE_APP};
use spindle_config::{LoadOptions, LogLevel, Route};

#[test]
fn defaults_fill_everything_not_written() {
    let project = Project::new("defaults");
    project
        .app("api")
        .config(r#"{ "applications": [{ "id": "api", "path": "./api" }] }"#);
    let config = project.config_ok();

    assert_eq!(config.source, Some(project.path("spindle.json")));
    assert_eq!(config.root, project.dir());
    assert_eq!(config.entrypoint, "api");
    assert_eq!(config.server.hostname, "127.0.0.1");
    assert_eq!(config.server.port, 3042);
    assert!(config.server.routes.is_empty());
    assert_eq!(config.graceful_shutdown.runtime, Duration::from_secs(30));
    assert_eq!(
        config.graceful_shutdown.application,
        Duration::from_secs(10)
    );
    assert!(config.metrics.enabled);
    assert_eq!(config.metrics.hostname, "127.0.0.1");
    assert_eq!(config.metrics.port, 9090);
    assert_eq!(config.logger.level, LogLevel::Info);

    let [app] = config.applications.as_slice() else {
        panic!("one app expected")
    };
    assert_eq!(app.id, "api");
    assert_eq!(app.path, project.path("api"));
    assert_eq!(app.entry, project.path("api/index.js"));
    assert_eq!(app.workers, NonZeroU32::MIN);
    assert_eq!(app.env.get("PORT").map(String::as_str), Some("3042"));
}

#[test]
fn every_key_is_read() {
    let project = Project::new("all-keys");
    project.app("api").app("web").config(
        r#"{
  "$schema": "https://example.com/spindle.schema.json",
  "entrypoint": "web",
  "applications": [
    { "id": "api", "path": "api", "workers": 3, "env": { "A": "1" } },
    { "id": "web", "path": "web" }
  ],
  "server": { "hostname": "0.0.0.0", "port": 0 },
  "gracefulShutdown": { "runtime": 5000, "application": 1500 },
  "metrics": { "enabled": false, "hostname": "::1", "port": 0 },
  "logger": { "level": "debug" }
}"#,
    );
    let config = project.config_ok();
    assert_eq!(config.entrypoint, "web");
    assert_eq!(config.applications[0].workers.get(), 3);
    assert_eq!(config.applications[0].env["A"], "1");
    assert_eq!(config.server.hostname, "0.0.0.0");
    assert_eq!(config.server.port, 0);
    assert_eq!(
        config.graceful_shutdown.runtime,
        Duration::from_millis(5000)
    );
    assert_eq!(
        config.graceful_shutdown.application,
        Duration::from_millis(1500)
    );
    assert!(!config.metrics.enabled);
    assert_eq!(config.metrics.hostname, "::1");
    assert_eq!(config.logger.level, LogLevel::Debug);
    assert_eq!(config.applications[0].env["PORT"], "0");
}

#[test]
fn watt_json_is_picked_up_with_watt_aliases() {
    let project = Project::new("watt");
    project.app("svc").file(
        "watt.json",
        r#"{ "services": [{ "id": "svc", "path": "svc" }] }"#,
    );
    let config = project.config_ok();
    assert_eq!(config.source, Some(project.path("watt.json")));
    assert_eq!(config.applications[0].id, "svc");
}

#[test]
fn spindle_json_wins_over_watt_json() {
    let project = Project::new("both");
    project
        .app("a")
        .app("b")
        .config(r#"{ "applications": [{ "id": "a", "path": "a" }] }"#)
        .file("watt.json", r#"{ "web": [{ "id": "b", "path": "b" }] }"#);
    assert_eq!(project.config_ok().entrypoint, "a");
}

#[test]
fn an_explicit_config_file_is_used_as_is() {
    let project = Project::new("explicit");
    project
        .app("conf/app")
        .file(
            "conf/other.json",
            r#"{ "applications": [{ "id": "x", "path": "app" }] }"#,
        )
        .config("this file is not read");
    let options = LoadOptions {
        config: Some(project.path("conf/other.json")),
        ..project.options()
    };
    let config = spindle_config::load(&options).unwrap();
    assert_eq!(config.root, project.path("conf"));
    assert_eq!(config.applications[0].path, project.path("conf/app"));
}

#[test]
fn a_directory_without_config_is_served_as_one_app() {
    let project = Project::new("demo");
    project.file("server.js", "").file(".env", "GREETING=hi\n");
    let config = project.config_ok();
    assert_eq!(config.source, None);
    assert_eq!(config.root, project.dir());
    assert_eq!(config.entrypoint, "demo");
    let app = &config.applications[0];
    assert_eq!(app.id, "demo");
    assert_eq!(app.path, project.dir());
    assert_eq!(app.entry, project.path("server.js"));
    assert_eq!(app.workers.get(), 1);
    assert_eq!(app.env["GREETING"], "hi");
    assert_eq!(app.env["PORT"], "3042");
    assert_eq!(config.server.port, 3042);
}

#[test]
fn a_directory_name_is_sanitized_into_an_id() {
    let project = Project::new("my app.v2");
    project.file("index.js", "");
    assert_eq!(project.config_ok().entrypoint, "my-app-v2");
}

#[test]
fn numbers_may_be_strings() {
    let project = Project::new("strings");
    project.app("api").config(
        r#"{
  "applications": [{ "id": "api", "path": "api", "workers": "4" }],
  "server": { "port": "8080" },
  "gracefulShutdown": { "runtime": "1000", "application": "250" },
  "metrics": { "port": " 9100 " }
}"#,
    );
    let config = project.config_ok();
    assert_eq!(config.applications[0].workers.get(), 4);
    assert_eq!(config.server.port, 8080);
    assert_eq!(config.graceful_shutdown.runtime, Duration::from_secs(1));
    assert_eq!(
        config.graceful_shutdown.application,
        Duration::from_millis(250)
    );
    assert_eq!(config.metrics.port, 9100);
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let project = Project::new("bom");
    project
        .app("api")
        .config("\u{feff}{ \"applications\": [{ \"id\": \"api\", \"path\": \"api\" }] }");
    assert_eq!(project.config_ok().entrypoint, "api");
}

#[test]
fn the_config_serializes_for_logging() {
    let project = Project::new("serialize");
    project.app("api").config(ONE_APP);
    let json = serde_json::to_value(project.config_ok()).unwrap();
    assert_eq!(json["graceful_shutdown"]["runtime"], 30000);
    assert_eq!(json["logger"]["level"], "info");
    assert_eq!(json["applications"][0]["workers"], 1);
}

#[test]
fn routes_are_sorted_longest_prefix_first() {
    let project = Project::new("routes");
    project.app("api").app("web").app("admin").config(
        r#"{
  "entrypoint": "web",
  "applications": [
    { "id": "api", "path": "api" },
    { "id": "web", "path": "web" },
    { "id": "admin", "path": "admin" }
  ],
  "server": { "routes": { "/a": "admin", "/api": "api", "/api/v2": "admin", "/b": "api" } }
}"#,
    );
    let config = project.config_ok();
    let route = |prefix: &str, app: &str| Route {
        prefix: prefix.into(),
        app: app.into(),
    };
    assert_eq!(
        config.server.routes,
        [
            route("/api/v2", "admin"),
            route("/api", "api"),
            route("/a", "admin"),
            route("/b", "api"),
        ]
    );
}
