//! The renderer on small schemas: sections, shared definitions, escaping.

use super::*;
use serde_json::json;

fn render(schema: Value) -> String {
    markdown_reference(&schema)
}

#[test]
fn shared_definitions_get_one_section_at_their_shallowest_place() {
    let schema = json!({
        "title": "T",
        "properties": {
            "apps": {"type": "array", "items": {"$ref": "#/$defs/App"}},
            "health": {"$ref": "#/$defs/Health", "default": {"limit": 3}}
        },
        "$defs": {
            "App": {"properties": {
                "health": {"anyOf": [{"$ref": "#/$defs/Health"}, {"type": "null"}]}
            }},
            "Health": {"description": "How health is judged.", "properties": {
                "limit": {"type": ["integer", "string", "null"], "minimum": 1, "pattern": "x"}
            }}
        }
    });
    let page = render(schema);
    assert_eq!(page.matches("## `health`").count(), 1, "{page}");
    assert!(page.contains("## `apps[]`"), "{page}");
    assert!(
        page.contains("| `apps[].health` | object ([`health`](#health)) |"),
        "{page}"
    );
    assert!(
        page.contains("| `health.limit` | integer (at least 1) | `3` |"),
        "the parent's default fills in the key's: {page}"
    );
    assert!(page.contains("Numbers may also be written as strings"));
}

#[test]
fn enums_sizes_maps_and_required_keys() {
    let schema = json!({
        "title": "T",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "description": "The id."},
            "level": {"$ref": "#/$defs/Level", "default": "info"},
            "heap": {"type": ["integer", "string"], "pattern": "[KkMmGg]", "minimum": 16777216, "default": 4294967296u64},
            "env": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}},
            "path": {"type": "string", "not": {"enum": ["/a"]}, "description": "a | b"}
        },
        "$defs": {"Level": {"oneOf": [
            {"const": "info", "type": "string", "description": "Events."},
            {"const": "warn", "type": "string", "description": "Problems."}
        ]}}
    });
    let page = render(schema);
    assert!(
        page.contains("| `id` | string | required | The id. |"),
        "{page}"
    );
    assert!(
        page.contains("| `level` | one of `\"info\"`, `\"warn\"` | `\"info\"` |"),
        "{page}"
    );
    assert!(page.contains("`\"info\"`: Events.<br><br>`\"warn\"`: Problems."));
    assert!(
        page.contains(
            "| `heap` | integer or size string (at least 16777216 (16 MiB)) | `4294967296` (4 GiB) |"
        ),
        "{page}"
    );
    assert!(
        page.contains("| `env` | object: name → string | `{}` |"),
        "{page}"
    );
    assert!(page.contains("string (not `\"/a\"`)"), "{page}");
    assert!(page.contains("a \\| b"), "pipes are escaped: {page}");
}

#[test]
fn an_object_that_may_also_be_a_number_gets_its_own_section_title() {
    let schema = json!({
        "title": "T",
        "properties": {"workers": {"anyOf": [
            {"type": ["integer", "string"], "pattern": "x"},
            {"$ref": "#/$defs/Range"}
        ]}},
        "$defs": {"Range": {"properties": {"minimum": {"type": "integer"}}}}
    });
    let page = render(schema);
    assert!(page.contains("## `workers` as an object"), "{page}");
    assert!(
        page.contains("integer or object ([`workers`](#workers-as-an-object))"),
        "{page}"
    );
    assert!(page.contains("| `workers.minimum` | integer |"), "{page}");
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("`applications[].workers` as an object"),
        "applicationsworkers-as-an-object"
    );
    assert_eq!(slug("Top-level keys"), "top-level-keys");
    assert_eq!(slug("`server`"), "server");
}
