//! The published JSON Schema, generated from the raw types.

use schemars::SchemaGenerator;
use serde_json::Value;

use crate::deserialize::APPLICATION_KEYS;
use crate::raw::RawConfig;

/// The JSON Schema of `spindle.json` (draft 2020-12), with descriptions and defaults.
///
/// The committed copy is `schema/spindle.schema.json`; a test fails when it drifts.
pub fn json_schema() -> Value {
    let schema = SchemaGenerator::default().into_root_schema_for::<RawConfig>();
    let mut schema = schema.to_value();
    add_application_aliases(&mut schema);
    unwrap_descriptions(&mut schema);
    schema
}

/// Doc comments are wrapped at 100 columns; editors show descriptions as prose, so single
/// line breaks become spaces (paragraph breaks stay).
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.replace('\n', " "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// schemars does not know serde aliases, and without them an editor would flag Watt's
/// `services` and `web` as unknown keys; they get `applications`' schema.
fn add_application_aliases(schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(applications) = properties.get(APPLICATION_KEYS[0]).cloned() else {
        return;
    };
    for alias in &APPLICATION_KEYS[1..] {
        let mut aliased = applications.clone();
        if let Some(object) = aliased.as_object_mut() {
            object.insert(
                "description".into(),
                Value::String("Alias of `applications` (Watt).".into()),
            );
        }
        properties.insert((*alias).to_owned(), aliased);
    }
}
