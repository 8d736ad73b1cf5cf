//! Watt configs load unchanged: every key of Watt 3.x's runtime schema is accepted, and each
//! one without effect gives exactly one warning naming the file, position and key.

mod common;

use std::time::Duration;

use common::{Project, ONE_APP};
use spindle_config::{AppKind, LogLevel};

/// Every top-level key of Watt 3.67's runtime schema (42), and every application key (25).
const WATT_CONFIG: &str = r#"{
  "$schema": "https://schemas.platformatic.dev/@platformatic/runtime/3.67.0.json",
  "module": "@platformatic/runtime",
  "entrypoint": "api",
  "applications": [{
    "id": "api", "path": "api", "config": "watt.json", "enabled": true, "env": {"A": "1"},
    "envfile": ".env.api", "workers": 2, "health": {"maxELU": 0.9}, "restartOnError": true,
    "dependencies": [], "arguments": ["--flag"], "sourceMaps": true, "preload": "pre.js",
    "nodeOptions": "--no-warnings", "execArgv": ["--trace-warnings"], "url": "https://x",
    "gitBranch": "main", "useHttp": false, "reuseTcpPorts": true, "packageManager": "npm",
    "permissions": {}, "telemetry": {}, "compileCache": true, "management": false,
    "nodeModulesSourceMaps": []
  }],
  "autoload": {"path": "web", "exclude": ["docs"], "mappings": {}},
  "basePath": "/", "compileCache": true, "env": {"TOP": "1"}, "envfile": ".env.top",
  "exitOnUnhandledErrors": true, "extensions": [], "gracefulShutdown": {"runtime": 1000, "application": 500, "closeConnections": true},
  "health": {"enabled": true}, "healthProbes": true, "httpCache": true, "inspectorOptions": {},
  "logger": {"level": "warn"}, "management": true, "managementApi": false, "messagingTimeout": 1,
  "metrics": true, "nodeModulesSourceMaps": [], "policies": {"deny": {"api": "docs2"}},
  "preload": [], "resolvedApplicationsBasePath": "external", "restartOnError": true,
  "reuseTcpPorts": true, "scheduler": [], "server": {"hostname": "127.0.0.1", "port": 0, "backlog": 64},
  "sourceMaps": false, "startTimeout": 1234, "startupConcurrency": 2, "strictEnv": true,
  "telemetry": {}, "undici": {}, "verticalScaler": {}, "watch": true, "workers": 3,
  "workersRestartDelay": 0
}"#;

fn watt_project(name: &str) -> Project {
    let project = Project::new(name);
    project
        .app("api")
        .file("api/watt.json", r#"{ "module": "@platformatic/node" }"#)
        .file("api/pre.js", "")
        .file("api/.env.api", "API=1\n")
        .file(".env.top", "FROM_TOP_FILE=1\n")
        .app("web/docs2")
        .app("web/docs")
        .file("watt.json", WATT_CONFIG);
    project
}

#[test]
fn every_watt_key_is_accepted() {
    let config = watt_project("watt-all-keys").config_ok();
    assert_eq!(config.entrypoint, "api");
    assert!(config.metrics.enabled);
    assert!(!config.management_api);
    assert!(config.watch);
    assert_eq!(config.logger.level, LogLevel::Warn);
    assert_eq!(config.server.backlog, Some(64));
    let api = config.application("api").unwrap();
    assert_eq!(api.workers.get(), 2);
    assert_eq!(api.start_timeout, Duration::from_millis(1234));
    assert_eq!(api.arguments, ["--flag"]);
    assert_eq!(api.env["A"], "1");
    assert_eq!(api.env["TOP"], "1");
    assert_eq!(api.env["FROM_TOP_FILE"], "1");
    assert_eq!(api.env["API"], "1");
    // The top-level `workers: 3` is the count of an application that gives none.
    assert_eq!(config.application("docs2").unwrap().workers.get(), 3);
    assert!(config.application("docs").is_none(), "excluded");
    assert!(config.policies.denies("docs2", "api"));
}

#[test]
fn each_key_without_effect_warns_once() {
    let warnings = watt_project("watt-warnings").warnings();
    let keys: Vec<&str> = warnings
        .iter()
        .map(|w| w.split(": ").nth(1).unwrap_or(""))
        .collect();
    let expected = [
        "basePath",
        "compileCache",
        "extensions",
        "healthProbes",
        "httpCache",
        "inspectorOptions",
        "management",
        "messagingTimeout",
        "nodeModulesSourceMaps",
        "resolvedApplicationsBasePath",
        "reuseTcpPorts",
        "scheduler",
        "startupConcurrency",
        "telemetry.exporter.type",
        "undici",
        "verticalScaler",
        "workersRestartDelay",
        "applications[0].compileCache",
        "applications[0].gitBranch",
        "applications[0].management",
        "applications[0].nodeModulesSourceMaps",
        "applications[0].packageManager",
        "applications[0].permissions",
        "applications[0].reuseTcpPorts",
        "applications[0].telemetry",
        "applications[0].useHttp",
        "applications[0].url",
    ];
    let mut sorted_keys = keys.clone();
    sorted_keys.sort();
    let mut sorted_expected = expected.to_vec();
    sorted_expected.sort();
    assert_eq!(sorted_keys, sorted_expected, "{warnings:#?}");
    // Each names the file, the key's line and column, and why.
    assert!(warnings.contains(
        &"/x/watt.json:21:26: scheduler: has no effect in Spindle: there is no cron scheduler; \
          call the application from a cron job instead"
            .to_owned()
    ));
}

#[test]
fn wattpm_create_shape_loads() {
    let project = Project::new("wattpm-create");
    project
        .file(
            ".env",
            "PLT_SERVER_HOSTNAME=127.0.0.1\nPORT=3042\nPLT_SERVER_LOGGER_LEVEL=info\n\
             PLT_MANAGEMENT_API=true\n",
        )
        .file(
            "watt.json",
            r#"{
  "$schema": "https://schemas.platformatic.dev/wattpm/3.0.0.json",
  "server": { "hostname": "{PLT_SERVER_HOSTNAME}", "port": "{PORT}" },
  "logger": { "level": "{PLT_SERVER_LOGGER_LEVEL}" },
  "autoload": { "path": "web", "exclude": ["docs"] },
  "managementApi": "{PLT_MANAGEMENT_API}",
  "watch": true
}"#,
        )
        .file(
            "web/node/watt.json",
            r#"{ "$schema": "https://schemas.platformatic.dev/@platformatic/node/3.0.0.json" }"#,
        )
        .file("web/node/package.json", r#"{ "name": "node" }"#)
        .file("web/node/index.js", "");
    let config = project.config_ok();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert!(config.management_api);
    assert!(config.watch);
    assert_eq!(config.server.port, 3042);
    assert_eq!(config.entrypoint, "node");
    assert_eq!(config.applications[0].kind, AppKind::Node);
}

#[test]
fn metrics_application_label_takes_effect_and_other_watt_metrics_keys_warn() {
    let project = Project::one_app(
        "metrics-application-label",
        r#""metrics": { "applicationLabel": "applicationId", "timeout": 1000 }"#,
    );
    assert_eq!(
        project.config_ok().metrics.application_label,
        "applicationId"
    );
    assert_eq!(
        project.warnings(),
        ["/x/spindle.json:2:53: metrics.timeout: has no effect in Spindle: a scrape never waits \
          on a worker"]
    );
}

#[test]
fn metrics_false_turns_the_admin_server_off() {
    let project = Project::one_app("metrics-false", r#""metrics": false"#);
    assert!(!project.config_ok().metrics.enabled);
}

#[test]
fn logger_silent_and_other_pino_options() {
    let project = Project::one_app(
        "logger-silent",
        r#""logger": { "level": "silent", "transport": { "target": "pino-pretty" } }"#,
    );
    assert_eq!(project.config_ok().logger.level, LogLevel::Silent);
    assert_eq!(
        project.warnings(),
        [
            "/x/spindle.json:2:34: logger.transport: has no effect in Spindle: Spindle writes its \
          own log lines as pino-compatible JSON on stdout and passes applications' lines on as \
          written; only logger.level applies"
        ]
    );
}

#[test]
fn restart_on_error_delays_and_false_warn() {
    let project = Project::new("restart-on-error");
    project.app("api").app("web").config(
        r#"{ "restartOnError": 500, "entrypoint": "api",
  "applications": [{ "id": "api", "path": "api" },
    { "id": "web", "path": "web", "restartOnError": false }] }"#,
    );
    assert_eq!(
        project.warnings(),
        [
            "/x/spindle.json:1:3: restartOnError: has no effect in Spindle: a crashed worker is \
             restarted at once after a good start, and after 100 ms doubling to 10 s in a \
             crash loop; the delay given is not used",
            "/x/spindle.json:3:35: applications[1].restartOnError: has no effect in Spindle: \
             crashed workers are always restarted (at once after a good start, with backoff in \
             a crash loop that maxFailedStarts ends)"
        ]
    );
}

#[test]
fn disabled_applications_are_skipped() {
    let project = Project::new("enabled-false");
    project.app("api").app("web").config(
        r#"{ "applications": [{ "id": "api", "path": "api" },
  { "id": "web", "path": "web", "enabled": "false" }] }"#,
    );
    let config = project.config_ok();
    assert_eq!(config.applications.len(), 1);
    assert_eq!(config.entrypoint, "api");
}

#[test]
fn exec_argv_keeps_what_a_worker_takes() {
    let project = Project::new("exec-argv");
    project.app("api").file("api/pre.js", "").config(
        r#"{ "sourceMaps": true,
  "applications": [{ "id": "api", "path": "api", "preload": ["pre.js"],
    "execArgv": ["--expose-gc", "--require", "./x.js"], "nodeOptions": "--max-old-space-size=64" }] }"#,
    );
    let config = project.config_ok();
    let api = &config.applications[0];
    assert_eq!(
        api.exec_argv,
        [
            format!("--import={}", project.path("api/pre.js").display()),
            "--enable-source-maps".to_owned(),
            "--require=./x.js".to_owned(),
        ]
    );
    let warnings = project.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with(
        "/x/spindle.json:3:5: applications[0].execArgv: has no effect in Spindle for --expose-gc:"
    ));
    assert!(warnings[1].contains("health.maxHeapTotal"));
}

#[test]
fn autoload_mappings_set_id_and_workers() {
    let project = Project::new("mappings");
    project.app("web/a").app("web/b").config(
        r#"{ "entrypoint": "alpha",
  "autoload": { "path": "web", "mappings": { "a": { "id": "alpha", "workers": 2 },
    "b": { "id": "beta", "enabled": false } } } }"#,
    );
    let config = project.config_ok();
    let ids: Vec<&str> = config.applications.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["alpha"]);
    assert_eq!(config.applications[0].workers.get(), 2);
}

#[test]
fn platformatic_json_and_services_with_config() {
    let project = Project::new("platformatic-json");
    project
        .file(
            "api/platformatic.service.json",
            r#"{ "module": "@platformatic/node", "node": { "main": "srv.js" } }"#,
        )
        .file("api/srv.js", "")
        .file("api/index.js", "")
        .file(
            "platformatic.json",
            r#"{ "services": [{ "id": "api", "path": "api", "config": "platformatic.service.json" }],
  "workers": 3, "metrics": true, "restartOnError": 500 }"#,
        );
    let config = project.config_ok();
    assert_eq!(config.applications[0].entry, project.path("api/srv.js"));
    assert_eq!(config.applications[0].workers.get(), 3);
}

#[test]
fn node_main_wins_over_package_json() {
    let project = Project::new("node-main");
    project
        .file("api/watt.json", r#"{ "node": { "main": "lib/app.js" } }"#)
        .file("api/package.json", r#"{ "main": "index.js" }"#)
        .file("api/lib/app.js", "")
        .file("api/index.js", "")
        .config(ONE_APP);
    assert_eq!(project.entry(), project.path("api/lib/app.js"));
}

#[test]
fn other_capabilities_are_refused_with_advice() {
    let project = Project::new("service-app");
    project
        .file(
            "api/watt.json",
            r#"{ "$schema": "https://schemas.platformatic.dev/@platformatic/service/3.0.0.json" }"#,
        )
        .config(ONE_APP);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:43: applications[0].path: application \"api\" is a \
         @platformatic/service app (/x/api/watt.json), which Spindle does not run: run it as a \
         @platformatic/node app: a Fastify server in index.js that registers its plugins"
    );
}

#[test]
fn next_apps_are_recognised() {
    let project = Project::new("next-app");
    project
        .file(
            "web/watt.json",
            r#"{ "$schema": "https://schemas.platformatic.dev/@platformatic/next/3.0.0.json",
  "application": { "basePath": "/shop" }, "next": { "trailingSlash": true } }"#,
        )
        .config(r#"{ "applications": [{ "id": "web", "path": "web" }] }"#);
    let config = project.config_ok();
    match &config.applications[0].kind {
        AppKind::Next {
            config,
            options,
            base_path,
            build_command,
        } => {
            assert_eq!(config, &project.path("web/watt.json"));
            assert_eq!(options["trailingSlash"], true);
            assert_eq!(base_path.as_deref(), Some("/shop"));
            assert_eq!(build_command.as_deref(), None);
        }
        other => panic!("expected a next app, got {other:?}"),
    }
    // Said once at start, placed in the app's own file.
    let said = project.warnings();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("/x/web/watt.json:2:")
            && said[0].contains(
                "next.trailingSlash: has no effect in Spindle: set trailingSlash in next.config.js"
            ),
        "{said:?}"
    );
}

#[test]
fn a_wrapped_app_config_is_its_own_runtime() {
    let project = Project::new("wrapped");
    project.file("index.js", "").file(
        "watt.json",
        r#"{ "$schema": "https://schemas.platformatic.dev/@platformatic/node/3.0.0.json",
  "runtime": { "server": { "port": 0 }, "undici": {} } }"#,
    );
    let config = project.config_ok();
    assert_eq!(config.applications[0].id, "wrapped");
    assert_eq!(config.server.port, 0);
    assert_eq!(
        project.warnings(),
        [
            "/x/watt.json:2:41: runtime.undici: has no effect in Spindle: mesh calls go \
          through Spindle's core, not an undici dispatcher"
        ]
    );
}

#[test]
fn yaml_configs_are_named_in_an_error() {
    let project = Project::new("yaml");
    project.app("api").file("watt.yaml", "entrypoint: api\n");
    assert_eq!(
        project.error(),
        "/x/watt.yaml: YAML config files are not read by Spindle; convert it to JSON (same \
         keys) as /x/watt.json"
    );
}

#[test]
fn typos_are_still_errors() {
    let project = Project::one_app("typo", r#""wacth": true"#);
    assert!(project.error().contains("wacth: unknown key"));
}
