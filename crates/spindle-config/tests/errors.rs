//! Error text is what users see: every message is locked here, in full.
//!
//! The project directory is shown as `/x`. Configs are written out line by line so the
//! expected line:column can be checked by eye.

mod common;

use common::Project;
use spindle_config::{ErrorKind, LoadOptions};

/// A project with apps `api` and `web` on disk and `config` as its spindle.json.
fn with_config(name: &str, config: &str) -> Project {
    let project = Project::new(name);
    project.app("api").app("web").config(config);
    project
}

fn error(name: &str, config: &str) -> String {
    with_config(name, config).error()
}

#[test]
fn syntax_error() {
    let config = "{\n  \"applications\": [],\n}\n";
    assert_eq!(
        error("syntax", config),
        "/x/spindle.json:3:1: invalid JSON: trailing comma"
    );
}

#[test]
fn syntax_error_at_end_of_file() {
    let config = "{\n  \"applications\": [\n";
    assert_eq!(
        error("syntax-eof", config),
        "/x/spindle.json:3:1: invalid JSON: unexpected end of file inside an array"
    );
}

#[test]
fn unknown_top_level_key() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "sever": { "port": 1 }
}"#;
    assert_eq!(
        error("unknown-top", config),
        "/x/spindle.json:3:3: sever: unknown key (expected one of: $schema, entrypoint, \
         applications, services, web, autoload, server, gracefulShutdown, metrics, logger)"
    );
}

#[test]
fn unknown_nested_key() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "server": {
    "hostname": "0.0.0.0",
    "prot": 8080
  }
}"#;
    assert_eq!(
        error("unknown-nested", config),
        "/x/spindle.json:5:5: server.prot: unknown key (expected one of: hostname, port)"
    );
}

#[test]
fn unknown_application_key() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "worker": 2 }
  ]
}"#;
    assert_eq!(
        error("unknown-app-key", config),
        "/x/spindle.json:3:35: applications[0].worker: unknown key (expected one of: id, \
         path, workers, env, envfile, entrypoint)"
    );
}

#[test]
fn wrong_type() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "enabled": "yes" }
}"#;
    assert_eq!(
        error("wrong-type", config),
        "/x/spindle.json:3:27: metrics.enabled: expected a boolean, got \"yes\""
    );
}

#[test]
fn object_written_as_array() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "server": ["0.0.0.0", 80]
}"#;
    assert_eq!(
        error("array-object", config),
        "/x/spindle.json:3:13: server: expected an object, got an array"
    );
}

#[test]
fn not_an_integer() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api", "workers": "many" }]
}"#;
    assert_eq!(
        error("not-integer", config),
        "/x/spindle.json:2:61: applications[0].workers: expected an integer, got \"many\""
    );
}

#[test]
fn workers_zero() {
    let config = r#"{
  "applications": [
    {
      "id": "api",
      "path": "api",
      "workers": 0
    }
  ]
}"#;
    let project = with_config("workers-zero", config);
    assert_eq!(
        project.error(),
        "/x/spindle.json:6:18: applications[0].workers: expected a positive integer, got 0"
    );
    // The parts are fields too.
    let err = project.load().unwrap_err();
    assert_eq!(err.file, project.path("spindle.json"));
    assert_eq!((err.line, err.column), (Some(6), Some(18)));
    assert_eq!(err.path, "applications[0].workers");
    assert_eq!(err.message, "expected a positive integer, got 0");
    assert_eq!(err.kind, ErrorKind::InvalidValue);
}

#[test]
fn port_out_of_range() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "server": { "port": 70000 }
}"#;
    assert_eq!(
        error("port-range", config),
        "/x/spindle.json:3:23: server.port: expected a port number (0-65535), got 70000"
    );
}

#[test]
fn negative_duration() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "gracefulShutdown": { "runtime": -1 }
}"#;
    assert_eq!(
        error("negative-ms", config),
        "/x/spindle.json:3:36: gracefulShutdown.runtime: expected a non-negative number of \
         milliseconds, got -1"
    );
}

#[test]
fn unknown_log_level() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "logger": { "level": "verbose" }
}"#;
    assert_eq!(
        error("log-level", config),
        "/x/spindle.json:3:24: logger.level: unknown value \"verbose\" (expected one of: \
         trace, debug, info, warn, error, fatal)"
    );
}

#[test]
fn duplicate_id() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api" },
    { "id": "api", "path": "web" }
  ]
}"#;
    assert_eq!(
        error("dup-id", config),
        "/x/spindle.json:4:13: applications[1].id: duplicate id \"api\" (already used by \
         applications[0])"
    );
}

#[test]
fn invalid_id() {
    let config = r#"{
  "applications": [{ "id": "my api", "path": "api" }]
}"#;
    assert_eq!(
        error("bad-id", config),
        "/x/spindle.json:2:28: applications[0].id: invalid id \"my api\" (expected letters, \
         digits, \"-\" or \"_\", starting with a letter or digit, at most 63 long)"
    );
}

#[test]
fn missing_required_id() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api" },
    { "path": "web" }
  ]
}"#;
    assert_eq!(
        error("missing-id", config),
        "/x/spindle.json:4:5: applications[1].id: missing required key"
    );
}

#[test]
fn missing_app_path() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "./apps/api" }
  ]
}"#;
    assert_eq!(
        error("missing-path", config),
        "/x/spindle.json:3:28: applications[0].path: /x/apps/api does not exist"
    );
}

#[test]
fn missing_entry_file() {
    let project = Project::new("no-entry");
    project
        .file("api/README.md", "")
        .config(r#"{ "applications": [{ "id": "api", "path": "api" }] }"#);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:43: applications[0].path: no entry file for \"api\" in /x/api \
         (looked for package.json \"main\", index.js, index.mjs, index.cjs, server.js, \
         server.mjs, app.js, app.mjs, main.js)"
    );
}

#[test]
fn package_main_that_does_not_exist() {
    let project = Project::new("bad-main");
    project
        .file("api/package.json", r#"{ "main": "dist/server.js" }"#)
        .config(r#"{ "applications": [{ "id": "api", "path": "api" }] }"#);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:43: applications[0].path: no entry file for \"api\": package.json \
         \"main\" is \"dist/server.js\" and /x/api/dist/server.js does not exist"
    );
}

#[test]
fn broken_package_json() {
    let project = Project::new("broken-package");
    project
        .file(
            "api/package.json",
            "{\n  \"main\": \"index.js\"\n  \"name\": \"api\"\n}",
        )
        .config(r#"{ "applications": [{ "id": "api", "path": "api" }] }"#);
    assert_eq!(
        project.error(),
        "/x/api/package.json:3:3: invalid JSON: expected `,` or `}`"
    );
}

#[test]
fn missing_placeholder_variable() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "server": { "port": "{PORT}" }
}"#;
    assert_eq!(
        error("missing-var", config),
        "/x/spindle.json:3:23: server.port: environment variable PORT is not set (and \
         /x/.env does not define it)"
    );
}

#[test]
fn unknown_entrypoint() {
    let config = r#"{
  "entrypoint": "wbe",
  "applications": [
    { "id": "api", "path": "api" },
    { "id": "web", "path": "web" }
  ]
}"#;
    assert_eq!(
        error("bad-entrypoint", config),
        "/x/spindle.json:2:17: entrypoint: unknown application \"wbe\" (expected one of: \
         api, web)"
    );
}

#[test]
fn no_applications() {
    assert_eq!(
        error("no-apps", "{}"),
        "/x/spindle.json:1:1: applications: no applications (add some, or an \"autoload\" \
         directory)"
    );
}

#[test]
fn duplicate_json_key() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "server": { "port": 1, "port": 2 }
}"#;
    assert_eq!(
        error("dup-key", config),
        "/x/spindle.json:3:26: server.port: duplicate key (first given at 3:15)"
    );
}

#[test]
fn aliases_given_together() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "services": []
}"#;
    assert_eq!(
        error("two-aliases", config),
        "/x/spindle.json:3:3: services: same key as \"applications\" (applications, services \
         and web are aliases); use one"
    );
}

#[test]
fn errors_under_an_alias_name_the_alias() {
    let config = r#"{
  "web": [{ "id": "api", "path": "api", "workers": -2 }]
}"#;
    assert_eq!(
        error("alias-path", config),
        "/x/spindle.json:2:52: web[0].workers: expected a positive integer, got -2"
    );
}

#[test]
fn metrics_on_the_public_port() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "server": { "port": 8080 },
  "metrics": { "port": 8080 }
}"#;
    assert_eq!(
        error("port-clash", config),
        "/x/spindle.json:4:24: metrics.port: port 8080 is already used by server.port"
    );
}

#[test]
fn explicit_config_that_does_not_exist() {
    let project = Project::new("explicit-missing");
    let options = LoadOptions {
        config: Some(project.path("nope.json")),
        ..project.options()
    };
    let err = spindle_config::load(&options).unwrap_err();
    assert_eq!(
        err.to_string()
            .replace(&*project.dir().to_string_lossy(), "/x"),
        "/x/nope.json: cannot read config file: not found"
    );
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[test]
fn no_config_mode_errors_name_the_directory() {
    let project = Project::new("empty-dir");
    project.file("README.md", "");
    assert_eq!(
        project.error(),
        "/x: no entry file for \"empty-dir\" in /x (looked for package.json \"main\", \
         index.js, index.mjs, index.cjs, server.js, server.mjs, app.js, app.mjs, main.js)"
    );
}

#[test]
fn a_missing_directory_is_named() {
    let project = Project::new("gone");
    let options = LoadOptions {
        dir: project.path("nowhere"),
        ..project.options()
    };
    let err = spindle_config::load(&options).unwrap_err();
    assert_eq!(
        err.to_string()
            .replace(&*project.dir().to_string_lossy(), "/x"),
        "/x/nowhere: directory not found"
    );
}
