//! `telemetry` (Watt's): traces the core makes and exports.

mod common;

use common::Project;

#[test]
fn otlp_exporter_with_watt_spelling_takes_effect() {
    let project = Project::one_app(
        "telemetry-otlp",
        r#""telemetry": { "enabled": "true", "applicationName": "shop", "version": "1.2.3",
    "skip": [{ "path": "/health" }, { "path": "/login", "method": "POST" }],
    "exporter": [
      { "type": "otlp", "options": { "url": "http://127.0.0.1:4318/v1/traces", "headers": { "x-api-key": "k" } } },
      { "type": "console" }
    ] }"#,
    );
    let config = project.config_ok();
    let telemetry = config.telemetry.expect("telemetry is on");
    assert_eq!(telemetry.service_name, "shop");
    assert_eq!(telemetry.version.as_deref(), Some("1.2.3"));
    assert_eq!(telemetry.url, "http://127.0.0.1:4318/v1/traces");
    assert_eq!(telemetry.headers["x-api-key"], "k");
    assert!(telemetry.skips("GET", "/health"));
    assert!(telemetry.skips("post", "/login"));
    assert!(!telemetry.skips("GET", "/login"));
    assert_eq!(
        project.warnings(),
        [
            "/x/spindle.json:6:7: telemetry.exporter[1]: has no effect in Spindle: spans go to \
          one exporter, the first listed"
        ]
    );
}

#[test]
fn defaults_and_disabled() {
    let project = Project::one_app(
        "telemetry-defaults",
        r#""telemetry": { "exporter": { "type": "otlp" } }"#,
    );
    let telemetry = project.config_ok().telemetry.expect("on by default");
    assert_eq!(telemetry.service_name, spindle_config::DEFAULT_SERVICE_NAME);
    assert_eq!(telemetry.url, spindle_config::DEFAULT_OTLP_URL);

    let off = Project::one_app(
        "telemetry-off",
        r#""telemetry": { "enabled": false, "applicationName": "a", "exporter": { "type": "otlp" } }"#,
    );
    assert_eq!(off.config_ok().telemetry, None);
}

#[test]
fn exporters_without_effect_warn_and_make_no_spans() {
    let project = Project::one_app(
        "telemetry-console",
        r#""telemetry": { "applicationName": "a", "exporter": { "type": "zipkin" } }"#,
    );
    assert_eq!(project.config_ok().telemetry, None);
    let warnings = project.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("telemetry.exporter.type: has no effect in Spindle"),
        "{warnings:?}"
    );
}

#[test]
fn errors_name_the_key() {
    let cases = [
        (
            r#"{ "type": "jaeger" }"#,
            "telemetry.exporter.type: unknown exporter \"jaeger\"",
        ),
        (
            r#"{ "type": "otlp", "options": { "url": "https://c/v1/traces" } }"#,
            "telemetry.exporter.options.url: \"https://c/v1/traces\" is not an http:// URL",
        ),
        (
            r#"{ "type": "otlp", "options": { "uri": "x" } }"#,
            "telemetry.exporter.options.uri: unknown key",
        ),
    ];
    for (i, (exporter, expected)) in cases.into_iter().enumerate() {
        let project = Project::new(&format!("telemetry-error-{i}"));
        project.app("api").config(&format!(
            r#"{{ "applications": [{{ "id": "api", "path": "api" }}], "telemetry": {{ "exporter": {exporter} }} }}"#
        ));
        let error = project.error();
        assert!(error.contains(expected), "{error}");
    }
}
