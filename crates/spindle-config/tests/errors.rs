//! Error text is what users see: every message is locked here, in full.
//!
//! The project directory is shown as `/x`. Configs are written out line by line so the
//! expected line:column can be checked by eye.

mod common;

use common::{Project, ONE_APP};
use spindle_config::{ErrorKind, LoadOptions};

fn error(name: &str, config: &str) -> String {
    Project::with_apps(name, config).error()
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
        "/x/spindle.json:3:3: sever: unknown key (expected one of: $schema, module, \
         entrypoint, applications, services, web, autoload, server, gracefulShutdown, metrics, telemetry, \
         logger, health, maxFailedStarts, maxInFlightPerWorker, queueTimeout, \
         exitOnUnhandledErrors, standbyWorkers, responseTimeout, applicationTimeout, policies, workers, env, \
         envfile, watch, managementApi, startTimeout, preload, sourceMaps)"
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
        "/x/spindle.json:5:5: server.prot: unknown key (expected one of: hostname, port, \
         backlog, routes, headersTimeout, keepAliveTimeout, bodyTimeout, maxConnections, \
         maxBodySize, trustProxy, https, http2)"
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
         path, config, enabled, arguments, dependencies, preload, sourceMaps, nodeOptions, execArgv, \
         workers, env, envfile, entrypoint, health, maxFailedStarts, maxInFlightPerWorker, \
         queueTimeout, exitOnUnhandledErrors, standbyWorkers, responseTimeout)"
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
    let project = Project::with_apps("workers-zero", config);
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
         trace, debug, info, warn, error, fatal, silent)"
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
    project.file("api/README.md", "").config(ONE_APP);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:43: applications[0].path: no entry file for \"api\" in /x/api \
         (looked for node.main in its watt.json, package.json \"main\" and \"exports\", then \
         index, main, app, application, server, start, bundle, run, entrypoint as .js, .mjs or \
         .cjs)"
    );
}

#[test]
fn package_main_that_does_not_exist() {
    let project = Project::new("bad-main");
    project
        .file("api/package.json", r#"{ "main": "dist/server.js" }"#)
        .config(ONE_APP);
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
        .config(ONE_APP);
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

// --- metrics ---

#[test]
fn unknown_metrics_key() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "path": "/prom" }
}"#;
    assert_eq!(
        error("metrics-key", config),
        "/x/spindle.json:3:16: metrics.path: unknown key (expected one of: enabled, hostname, \
         port, endpoint, auth, labels, applicationLabel, workerLabel)"
    );
}

#[test]
fn metrics_endpoint_without_a_leading_slash() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "endpoint": "metrics" }
}"#;
    assert_eq!(
        error("endpoint-slash", config),
        "/x/spindle.json:3:28: metrics.endpoint: expected a path starting with \"/\" (without \
         spaces, \"?\" or \"#\"), got \"metrics\""
    );
}

#[test]
fn metrics_endpoint_with_a_query() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "endpoint": "/metrics?format=json" }
}"#;
    assert_eq!(
        error("endpoint-query", config),
        "/x/spindle.json:3:28: metrics.endpoint: expected a path starting with \"/\" (without \
         spaces, \"?\" or \"#\"), got \"/metrics?format=json\""
    );
}

#[test]
fn metrics_endpoint_on_a_probe_path() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "endpoint": "/ready" }
}"#;
    assert_eq!(
        error("endpoint-probe", config),
        "/x/spindle.json:3:28: metrics.endpoint: path \"/ready\" is already used by a probe \
         (/live, /ready and /status are reserved)"
    );
}

#[test]
fn metrics_auth_with_an_empty_username() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "auth": { "username": "", "password": "s3cret" }
  }
}"#;
    assert_eq!(
        error("auth-empty-user", config),
        "/x/spindle.json:4:27: metrics.auth.username: expected a non-empty string, got \"\""
    );
}

#[test]
fn metrics_auth_password_from_an_empty_variable() {
    let project = Project::new("auth-empty-password").env("METRICS_PASSWORD", "");
    project.app("api").config(
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "auth": { "username": "prom", "password": "{METRICS_PASSWORD}" }
  }
}"#,
    );
    assert_eq!(
        project.error(),
        "/x/spindle.json:4:47: metrics.auth.password: expected a non-empty string, got \"\""
    );
}

#[test]
fn metrics_auth_without_a_password() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "auth": { "username": "prom" }
  }
}"#;
    assert_eq!(
        error("auth-no-password", config),
        "/x/spindle.json:4:13: metrics.auth.password: missing required key"
    );
}

#[test]
fn metrics_label_reserved_by_spindle() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "labels": { "region": "eu", "app": "shop" }
  }
}"#;
    assert_eq!(
        error("label-reserved", config),
        "/x/spindle.json:4:33: metrics.labels.app: label \"app\" is already used by Spindle \
         (reserved: app, worker, state, reason, method, code_class, status_code, route, le, quantile, \
         version, major, minor, patch, direction, kind, type, space)"
    );
}

#[test]
fn metrics_application_label_taken_by_another_label() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "applicationLabel": "method" }
}"#;
    assert_eq!(
        error("application-label-reserved", config),
        "/x/spindle.json:3:36: metrics.applicationLabel: label \"method\" is already used by \
         Spindle (reserved: app, worker, state, reason, method, code_class, status_code, route, le, \
         quantile, version, major, minor, patch, direction, kind, type, space)"
    );
}

#[test]
fn metrics_worker_label_same_as_the_application_label() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "applicationLabel": "id", "workerLabel": "id" }
}"#;
    assert_eq!(
        error("worker-label-same", config),
        "/x/spindle.json:3:57: metrics.workerLabel: label \"id\" is already the application \
         label (metrics.applicationLabel)"
    );
}

#[test]
fn metrics_static_label_named_like_the_application_label() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "applicationLabel": "applicationId", "labels": { "applicationId": "x" } }
}"#;
    assert_eq!(
        error("static-label-application", config),
        "/x/spindle.json:3:65: metrics.labels.applicationId: label \"applicationId\" is already \
         used by Spindle (metrics.applicationLabel)"
    );
}

#[test]
fn metrics_application_label_not_a_label_name() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": { "applicationLabel": "application-id" }
}"#;
    assert_eq!(
        error("application-label-invalid", config),
        "/x/spindle.json:3:36: metrics.applicationLabel: invalid label name \"application-id\" \
         (expected letters, digits and \"_\", not starting with a digit or \"__\")"
    );
}

#[test]
fn metrics_label_name_starting_with_a_digit() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "labels": { "1st": "yes" }
  }
}"#;
    assert_eq!(
        error("label-digit", config),
        "/x/spindle.json:4:17: metrics.labels.1st: invalid label name \"1st\" (expected \
         letters, digits and \"_\", not starting with a digit or \"__\")"
    );
}

#[test]
fn metrics_label_name_reserved_by_prometheus() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "labels": { "__name__": "x" }
  }
}"#;
    assert_eq!(
        error("label-dunder", config),
        "/x/spindle.json:4:17: metrics.labels.__name__: invalid label name \"__name__\" \
         (expected letters, digits and \"_\", not starting with a digit or \"__\")"
    );
}

#[test]
fn metrics_label_value_not_a_string() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "metrics": {
    "labels": { "shard": 3 }
  }
}"#;
    assert_eq!(
        error("label-value", config),
        "/x/spindle.json:4:26: metrics.labels.shard: expected a string, got 3"
    );
}

// --- health and faults ---

#[test]
fn sample_interval_too_short() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "sampleInterval": 5 }
}"#;
    assert_eq!(
        error("sample-short", config),
        "/x/spindle.json:3:33: health.sampleInterval: expected at least 10 ms, got 5"
    );
}

#[test]
fn sample_interval_longer_than_the_interval() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "sampleInterval": 2000 }
}"#;
    assert_eq!(
        error("sample-long", config),
        "/x/spindle.json:3:33: health.sampleInterval: expected at most health.interval \
         (1000 ms), got 2000"
    );
}

#[test]
fn an_application_interval_shorter_than_the_top_level_sample_interval() {
    // The rule is broken by the value written closest to the application: its interval.
    let config = r#"{
  "health": { "sampleInterval": 250 },
  "applications": [
    { "id": "api", "path": "api", "health": { "interval": 100 } }
  ]
}"#;
    assert_eq!(
        error("interval-short", config),
        "/x/spindle.json:4:59: applications[0].health.interval: expected at least \
         health.sampleInterval (250 ms), got 100"
    );
}

#[test]
fn max_stall_shorter_than_two_samples() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxStall": 300 }
}"#;
    assert_eq!(
        error("stall-short", config),
        "/x/spindle.json:3:27: health.maxStall: expected at least twice \
         health.sampleInterval (500 ms), got 300"
    );
}

#[test]
fn an_application_sample_interval_too_long_for_the_default_max_stall() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "health": { "sampleInterval": 600 } }
  ]
}"#;
    assert_eq!(
        error("sample-stall", config),
        "/x/spindle.json:3:65: applications[0].health.sampleInterval: expected at most half \
         of health.maxStall (500 ms), got 600"
    );
}

#[test]
fn max_elu_out_of_range() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxELU": 1.5 }
}"#;
    assert_eq!(
        error("elu-range", config),
        "/x/spindle.json:3:25: health.maxELU: expected a number greater than 0 and at most 1, \
         got 1.5"
    );
}

#[test]
fn max_heap_used_zero() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "health": { "maxHeapUsed": "0" } }
  ]
}"#;
    assert_eq!(
        error("heap-used-zero", config),
        "/x/spindle.json:3:62: applications[0].health.maxHeapUsed: expected a number greater \
         than 0 and at most 1, got 0"
    );
}

#[test]
fn not_a_number() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxELU": "high" }
}"#;
    assert_eq!(
        error("not-number", config),
        "/x/spindle.json:3:25: health.maxELU: expected a number, got \"high\""
    );
}

#[test]
fn young_generation_not_below_the_heap_total() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxHeapTotal": "64MB", "maxYoungGeneration": "128MB" }
}"#;
    assert_eq!(
        error("young-total", config),
        "/x/spindle.json:3:61: health.maxYoungGeneration: expected less than \
         health.maxHeapTotal (64 MiB), got \"128MB\""
    );
}

#[test]
fn an_application_heap_total_below_the_default_young_generation() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "health": { "maxHeapTotal": "100MB" } }
  ]
}"#;
    assert_eq!(
        error("total-young", config),
        "/x/spindle.json:3:63: applications[0].health.maxHeapTotal: expected more than \
         health.maxYoungGeneration (128 MiB), got \"100MB\""
    );
}

#[test]
fn heap_total_too_small() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxHeapTotal": "8MB" }
}"#;
    assert_eq!(
        error("heap-small", config),
        "/x/spindle.json:3:31: health.maxHeapTotal: expected at least 16 MiB, got \"8MB\""
    );
}

#[test]
fn heap_total_too_large() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxHeapTotal": "99999999999GB" }
}"#;
    assert_eq!(
        error("heap-large", config),
        "/x/spindle.json:3:31: health.maxHeapTotal: expected at most 18446744073709551615 \
         bytes, got \"99999999999GB\""
    );
}

#[test]
fn young_generation_too_small() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxYoungGeneration": 1000 }
}"#;
    assert_eq!(
        error("young-small", config),
        "/x/spindle.json:3:37: health.maxYoungGeneration: expected at least 1 MiB, got 1000"
    );
}

#[test]
fn unknown_memory_unit() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxHeapTotal": "12TB" }
}"#;
    assert_eq!(
        error("memory-unit", config),
        "/x/spindle.json:3:31: health.maxHeapTotal: expected a number of bytes or a size like \
         \"512MB\" (units B, K, KB, KiB, M, MB, MiB, G, GB, GiB), got \"12TB\""
    );
}

#[test]
fn queue_timeout_zero() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "queueTimeout": 0
}"#;
    assert_eq!(
        error("queue-zero", config),
        "/x/spindle.json:3:19: queueTimeout: expected a positive number of milliseconds, got 0"
    );
}

#[test]
fn max_failed_starts_zero() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "maxFailedStarts": 0 }
  ]
}"#;
    assert_eq!(
        error("failed-starts-zero", config),
        "/x/spindle.json:3:54: applications[0].maxFailedStarts: expected a positive integer, \
         got 0"
    );
}

#[test]
fn max_in_flight_negative() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "maxInFlightPerWorker": "-1"
}"#;
    assert_eq!(
        error("in-flight-negative", config),
        "/x/spindle.json:3:27: maxInFlightPerWorker: expected a positive integer, got -1"
    );
}

#[test]
fn standby_workers_above_the_maximum() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "standbyWorkers": 9 }
  ]
}"#;
    assert_eq!(
        error("standby-nine", config),
        "/x/spindle.json:3:53: applications[0].standbyWorkers: expected an integer between 0 \
         and 8, got 9"
    );
}

#[test]
fn standby_workers_negative() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "standbyWorkers": -1
}"#;
    assert_eq!(
        error("standby-negative", config),
        "/x/spindle.json:3:21: standbyWorkers: expected an integer between 0 and 8, got -1"
    );
}

#[test]
fn standby_workers_as_a_string_out_of_range() {
    // Numeric strings (what a placeholder becomes) are checked like numbers.
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "standbyWorkers": "12" }
  ]
}"#;
    assert_eq!(
        error("standby-string-range", config),
        "/x/spindle.json:3:53: applications[0].standbyWorkers: expected an integer between 0 \
         and 8, got 12"
    );
}

#[test]
fn standby_workers_fractional() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "standbyWorkers": 1.5 }
  ]
}"#;
    assert_eq!(
        error("standby-fraction", config),
        "/x/spindle.json:3:53: applications[0].standbyWorkers: expected an integer, got 1.5"
    );
}

#[test]
fn standby_workers_not_a_number() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "standbyWorkers": "one"
}"#;
    assert_eq!(
        error("standby-text", config),
        "/x/spindle.json:3:21: standbyWorkers: expected an integer, got \"one\""
    );
}

#[test]
fn standby_workers_is_not_a_boolean() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "standbyWorkers": true }
  ]
}"#;
    assert_eq!(
        error("standby-bool", config),
        "/x/spindle.json:3:53: applications[0].standbyWorkers: expected an integer, got true"
    );
}

// --- the mesh: applicationTimeout and policies ---

#[test]
fn application_timeout_zero() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "applicationTimeout": 0
}"#;
    assert_eq!(
        error("app-timeout-zero", config),
        "/x/spindle.json:3:25: applicationTimeout: expected a positive number of \
         milliseconds, got 0"
    );
}

#[test]
fn application_timeout_not_an_integer() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "applicationTimeout": "5m"
}"#;
    assert_eq!(
        error("app-timeout-text", config),
        "/x/spindle.json:3:25: applicationTimeout: expected an integer, got \"5m\""
    );
}

#[test]
fn policies_deny_an_unknown_application() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api" },
    { "id": "web", "path": "web" }
  ],
  "entrypoint": "web",
  "policies": { "deny": { "web": ["nope"] } }
}"#;
    let project = Project::with_apps("deny-unknown", config);
    assert_eq!(
        project.error(),
        "/x/spindle.json:7:35: policies.deny.web[0]: unknown application \"nope\" (expected \
         one of: api, web)"
    );
    assert_eq!(project.load().unwrap_err().kind, ErrorKind::InvalidValue);
}

#[test]
fn policies_deny_for_an_unknown_application() {
    // The error points at the key, which is what names the application.
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api" },
    { "id": "web", "path": "web" }
  ],
  "entrypoint": "web",
  "policies": { "deny": { "nope": ["api"] } }
}"#;
    assert_eq!(
        error("deny-unknown-key", config),
        "/x/spindle.json:7:27: policies.deny.nope: unknown application \"nope\" (expected \
         one of: api, web)"
    );
}

#[test]
fn policies_deny_itself() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api" },
    { "id": "web", "path": "web" }
  ],
  "entrypoint": "web",
  "policies": { "deny": { "web": ["api", "web"] } }
}"#;
    assert_eq!(
        error("deny-self", config),
        "/x/spindle.json:7:42: policies.deny.web[1]: application \"web\" cannot deny itself"
    );
}

#[test]
fn unknown_policies_key() {
    // Watt has no allow list: everything not denied is allowed.
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "policies": { "allow": {} }
}"#;
    assert_eq!(
        error("policies-key", config),
        "/x/spindle.json:3:17: policies.allow: unknown key (expected one of: deny)"
    );
}

// --- workers and scaling ---

#[test]
fn workers_neither_a_number_nor_an_object() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api", "workers": true }]
}"#;
    assert_eq!(
        error("workers-bool", config),
        "/x/spindle.json:2:61: applications[0].workers: expected an integer or an object, got \
         true"
    );
}

#[test]
fn workers_minimum_above_maximum() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 4, "maximum": 2 } }
  ]
}"#;
    assert_eq!(
        error("workers-min-max", config),
        "/x/spindle.json:3:59: applications[0].workers.minimum: expected at most \
         workers.maximum (2), got 4"
    );
}

#[test]
fn workers_minimum_above_the_default_maximum() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api", "workers": { "minimum": 3 } }],
  "workers": { "total": 2 }
}"#;
    assert_eq!(
        error("workers-min-total", config),
        "/x/spindle.json:2:74: applications[0].workers.minimum: expected at most \
         workers.maximum (2, the default: workers.total), got 3"
    );
}

#[test]
fn an_application_maximum_below_the_top_level_minimum() {
    // The rule is broken by the value written closest to the application: its maximum.
    let config = r#"{
  "workers": { "total": 8, "minimum": 3 },
  "applications": [
    { "id": "api", "path": "api", "workers": { "maximum": 2 } }
  ]
}"#;
    assert_eq!(
        error("workers-max-top-min", config),
        "/x/spindle.json:4:59: applications[0].workers.maximum: expected at least \
         workers.minimum (3), got 2"
    );
}

#[test]
fn workers_static_with_a_range() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "workers": { "static": 2, "maximum": 4 } }
  ]
}"#;
    let project = Project::with_apps("workers-static-range", config);
    assert_eq!(
        project.error(),
        "/x/spindle.json:3:61: applications[0].workers.maximum: cannot be given together with \
         static (use static for a fixed number of workers, or minimum and maximum for a range)"
    );
    assert_eq!(project.load().unwrap_err().kind, ErrorKind::InvalidValue);
}

#[test]
fn workers_static_and_dynamic() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "workers": { "static": 2, "dynamic": true } }
  ]
}"#;
    assert_eq!(
        error("workers-static-dynamic", config),
        "/x/spindle.json:3:72: applications[0].workers.dynamic: cannot be true together with \
         static (use static for a fixed number of workers, or minimum and maximum for a range)"
    );
}

#[test]
fn workers_static_zero() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api", "workers": { "static": 0 } }]
}"#;
    assert_eq!(
        error("workers-static-zero", config),
        "/x/spindle.json:2:73: applications[0].workers.static: expected a positive integer, \
         got 0"
    );
}

#[test]
fn workers_minimum_zero() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 0, "maximum": 2 } }
  ]
}"#;
    assert_eq!(
        error("workers-min-zero", config),
        "/x/spindle.json:3:59: applications[0].workers.minimum: expected a positive integer, \
         got 0"
    );
}

#[test]
fn unknown_application_workers_key() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api", "workers": { "min": 2 } }]
}"#;
    assert_eq!(
        error("workers-app-key", config),
        "/x/spindle.json:2:63: applications[0].workers.min: unknown key (expected one of: \
         static, minimum, maximum, dynamic)"
    );
}

#[test]
fn workers_total_zero() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": { "total": 0 }
}"#;
    assert_eq!(
        error("workers-total-zero", config),
        "/x/spindle.json:3:25: workers.total: expected a positive integer, got 0"
    );
}

#[test]
fn top_level_workers_minimum_above_maximum() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": { "minimum": 4, "maximum": 2 }
}"#;
    assert_eq!(
        error("workers-top-min-max", config),
        "/x/spindle.json:3:27: workers.minimum: expected at most workers.maximum (2), got 4"
    );
}

#[test]
fn scale_up_elu_out_of_range() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": { "scaleUpELU": 1.5 }
}"#;
    assert_eq!(
        error("scale-up-range", config),
        "/x/spindle.json:3:30: workers.scaleUpELU: expected a number greater than 0 and at \
         most 1, got 1.5"
    );
}

#[test]
fn scale_down_elu_zero() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": { "scaleDownELU": 0 }
}"#;
    assert_eq!(
        error("scale-down-zero", config),
        "/x/spindle.json:3:32: workers.scaleDownELU: expected a number greater than 0 and at \
         most 1, got 0"
    );
}

#[test]
fn scale_down_elu_not_below_scale_up_elu() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": { "scaleUpELU": 0.5, "scaleDownELU": 0.5 }
}"#;
    assert_eq!(
        error("scale-down-up", config),
        "/x/spindle.json:3:51: workers.scaleDownELU: expected less than workers.scaleUpELU \
         (0.5), got 0.5"
    );
}

#[test]
fn scale_up_elu_below_the_default_scale_down_elu() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": { "scaleUpELU": 0.1 }
}"#;
    assert_eq!(
        error("scale-up-down", config),
        "/x/spindle.json:3:30: workers.scaleUpELU: expected more than workers.scaleDownELU \
         (0.2), got 0.1"
    );
}

#[test]
fn negative_cooldown() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": { "cooldown": -5 }
}"#;
    assert_eq!(
        error("cooldown-negative", config),
        "/x/spindle.json:3:28: workers.cooldown: expected a non-negative number of \
         milliseconds, got -5"
    );
}

#[test]
fn minimums_above_the_total() {
    // A fixed count takes its workers from the total too.
    let config = r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 3, "maximum": 4 } },
    { "id": "web", "path": "web", "workers": 2 }
  ],
  "workers": { "total": 4 }
}"#;
    assert_eq!(
        error("minimums-total", config),
        "/x/spindle.json:7:25: workers.total: expected at least the applications' minimums \
         added up (5), got 4"
    );
}

#[test]
fn minimums_above_the_default_total() {
    // The default total is the machine's: each minimum fits alone, both together do not.
    let cpus = std::thread::available_parallelism().unwrap().get();
    let config = format!(
        r#"{{
  "entrypoint": "api",
  "applications": [
    {{ "id": "api", "path": "api", "workers": {{ "minimum": {cpus} }} }},
    {{ "id": "web", "path": "web", "workers": {{ "minimum": {cpus} }} }}
  ]
}}"#
    );
    assert_eq!(
        error("minimums-default-total", &config),
        format!(
            "/x/spindle.json:1:1: workers.total: expected at least the applications' minimums \
             added up ({}), got {cpus} (the default: this machine's available parallelism)",
            2 * cpus
        )
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
        "/x: no entry file for \"empty-dir\" in /x (looked for node.main in its watt.json, package.json \"main\" and \"exports\", then \
         index, main, app, application, server, start, bundle, run, entrypoint as .js, .mjs or \
         .cjs)"
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

// --- server.routes ---

#[test]
fn route_prefix_without_a_slash() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }],
  "server": { "routes": { "api": "web" } },
  "entrypoint": "web"
}"#;
    assert_eq!(
        error("route-no-slash", config),
        "/x/spindle.json:3:27: server.routes.api: expected a path prefix starting with \"/\", got \"api\""
    );
}

#[test]
fn route_prefix_root() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }],
  "server": { "routes": { "/": "web" } },
  "entrypoint": "web"
}"#;
    assert_eq!(
        error("route-root", config),
        "/x/spindle.json:3:27: server.routes[\"/\"]: \"/\" cannot be routed: the entrypoint already gets every path \
         not routed"
    );
}

#[test]
fn route_prefix_with_a_trailing_slash() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }],
  "server": { "routes": { "/api/": "api" } },
  "entrypoint": "web"
}"#;
    assert_eq!(
        error("route-trailing", config),
        "/x/spindle.json:3:27: server.routes[\"/api/\"]: expected a path prefix not ending with \"/\", got \
         \"/api/\""
    );
}

#[test]
fn route_prefix_with_a_query() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }],
  "server": { "routes": { "/api?v=1": "api" } },
  "entrypoint": "web"
}"#;
    assert_eq!(
        error("route-query", config),
        "/x/spindle.json:3:27: server.routes[\"/api?v=1\"]: expected a path prefix without \"?\", \"#\" or \
         whitespace, got \"/api?v=1\""
    );
}

#[test]
fn route_prefix_with_a_fragment() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }],
  "server": { "routes": { "/api#top": "api" } },
  "entrypoint": "web"
}"#;
    assert_eq!(
        error("route-fragment", config),
        "/x/spindle.json:3:27: server.routes[\"/api#top\"]: expected a path prefix without \"?\", \"#\" or \
         whitespace, got \"/api#top\""
    );
}

#[test]
fn route_prefix_with_whitespace() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }],
  "server": { "routes": { "/my api": "api" } },
  "entrypoint": "web"
}"#;
    assert_eq!(
        error("route-space", config),
        "/x/spindle.json:3:27: server.routes[\"/my api\"]: expected a path prefix without \"?\", \"#\" or \
         whitespace, got \"/my api\""
    );
}

#[test]
fn route_to_an_unknown_application() {
    // The error points at the value, which is what names the application.
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }],
  "server": { "routes": { "/api": "nope" } },
  "entrypoint": "web"
}"#;
    let project = Project::with_apps("route-unknown", config);
    assert_eq!(
        project.error(),
        "/x/spindle.json:3:35: server.routes[\"/api\"]: unknown application \"nope\" \
         (expected one of: api, web)"
    );
    assert_eq!(project.load().unwrap_err().kind, ErrorKind::InvalidValue);
}

#[test]
fn route_to_a_non_string() {
    let config = r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "server": { "routes": { "/api": 1 } }
}"#;
    assert_eq!(
        error("route-number", config),
        "/x/spindle.json:3:35: server.routes[\"/api\"]: expected a string, got 1"
    );
}

#[test]
fn a_dependency_on_an_unknown_application() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api" },
    { "id": "web", "path": "web", "dependencies": ["api", "auth"] }
  ]
}"#;
    assert_eq!(
        error("dependency-unknown", config),
        "/x/spindle.json:4:59: applications[1].dependencies[1]: no application \"auth\" to \
         depend on (applications: api, web)"
    );
}

#[test]
fn a_dependency_on_itself() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "dependencies": ["api"] }
  ]
}"#;
    assert_eq!(
        error("dependency-self", config),
        "/x/spindle.json:3:52: applications[0].dependencies[0]: \"api\" cannot depend on itself"
    );
}

#[test]
fn dependencies_in_a_cycle() {
    let config = r#"{
  "applications": [
    { "id": "api", "path": "api", "dependencies": ["web"] },
    { "id": "web", "path": "web", "dependencies": ["api"] }
  ]
}"#;
    assert_eq!(
        error("dependency-cycle", config),
        "/x/spindle.json:3:51: applications[0].dependencies: the dependencies form a cycle \
         (api → web → api): none of them could start"
    );
}
