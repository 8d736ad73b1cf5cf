//! The committed schema must match the one generated from the code.

mod common;

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&spindle_config::json_schema()).unwrap();
    text.push('\n');
    text
}

/// Run with `UPDATE_SCHEMA=1 cargo test -p spindle-config --test schema` to rewrite the file.
#[test]
fn committed_schema_is_up_to_date() {
    const PATH: &str = "schema/spindle.schema.json";
    common::committed_is(
        PATH,
        &generated(),
        "UPDATE_SCHEMA",
        &format!(
            "{PATH} is out of date; regenerate it with \
             `UPDATE_SCHEMA=1 cargo test -p spindle-config --test schema`"
        ),
    );
}

#[test]
fn schema_documents_keys_defaults_and_aliases() {
    let schema = spindle_config::json_schema();
    let properties = &schema["properties"];
    for key in [
        "$schema",
        "entrypoint",
        "applications",
        "services",
        "web",
        "autoload",
    ] {
        assert!(properties.get(key).is_some(), "no {key} in {properties}");
    }
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(properties["server"]["default"]["port"], 3042);
    assert_eq!(properties["gracefulShutdown"]["default"]["runtime"], 30000);
    assert_eq!(properties["health"]["default"]["maxStall"], 1000);
    assert_eq!(properties["health"]["default"]["maxHeapTotal"], 4_u64 << 30);
    assert_eq!(properties["maxFailedStarts"]["default"], 5);
    // Unset differs from 0 (one standby after the first failure): no default to show.
    assert!(properties["standbyWorkers"].get("default").is_none());
    assert_eq!(properties["standbyWorkers"]["minimum"], 0);
    assert_eq!(properties["standbyWorkers"]["maximum"], 8);
    assert_eq!(schema["$defs"]["Health"]["additionalProperties"], false);
    assert_eq!(properties["metrics"]["default"]["endpoint"], "/metrics");
    assert_eq!(properties["applicationTimeout"]["default"], 300_000);
    assert_eq!(properties["applicationTimeout"]["minimum"], 1);
    assert_eq!(
        properties["policies"]["default"]["deny"],
        serde_json::json!({})
    );
    assert_eq!(schema["$defs"]["Policies"]["additionalProperties"], false);
    let metrics = &schema["$defs"]["Metrics"]["properties"];
    assert_eq!(metrics["endpoint"]["not"]["enum"][1], "/ready");
    assert_eq!(metrics["labels"]["propertyNames"]["not"]["enum"][0], "app");
    assert_eq!(
        schema["$defs"]["MetricsAuth"]["required"],
        serde_json::json!(["username", "password"])
    );
    let app = &schema["$defs"]["Application"]["properties"];
    for key in [
        "health",
        "maxFailedStarts",
        "maxInFlightPerWorker",
        "queueTimeout",
        "standbyWorkers",
    ] {
        assert!(app.get(key).is_some(), "no applications[].{key} in {app}");
    }
    let workers = &properties["workers"];
    assert_eq!(workers["$ref"], "#/$defs/Workers");
    assert_eq!(workers["default"]["scaleUpELU"], 0.8);
    assert_eq!(workers["default"]["cooldown"], 20_000);
    assert_eq!(schema["$defs"]["Workers"]["additionalProperties"], false);
    let app_workers = &app["workers"];
    // Not given, an application's count is the top-level `workers.static` (default 1).
    assert_eq!(app_workers["default"], serde_json::Value::Null);
    assert_eq!(app_workers["anyOf"][0]["minimum"], 1);
    assert_eq!(
        app_workers["anyOf"][1]["$ref"],
        "#/$defs/ApplicationWorkers"
    );
    let range = &schema["$defs"]["ApplicationWorkers"];
    assert_eq!(range["additionalProperties"], false);
    assert_eq!(
        range["dependentSchemas"]["static"]["properties"]["minimum"],
        false
    );
    let text = schema.to_string();
    assert!(
        text.contains("Number of workers"),
        "doc comments become descriptions"
    );
}
