//! From the JSON value to the raw types, turning serde's messages into ours.
//!
//! serde reports problems in a fixed set of phrasings (`unknown field`, `missing field`,
//! `invalid type`, ...), which read as implementation detail ("expected struct RawServer").
//! They are rewritten here into the crate's style — what was found, what was expected — and
//! placed with the key path serde_path_to_error recorded.

use serde_json::Value;

use crate::error::{ConfigError, ErrorKind, Reporter};
use crate::json::describe;
use crate::keypath::{KeyPath, Segment};
use crate::object::Object;
use crate::raw::RawConfig;

/// The key of the application list and its Watt aliases.
pub(crate) const APPLICATION_KEYS: [&str; 3] = ["applications", "services", "web"];

/// Deserializes the (placeholder-expanded) document into [`RawConfig`].
pub(crate) fn raw_config(document: &Value, report: Reporter<'_>) -> Result<RawConfig, ConfigError> {
    let root: Result<Object<RawConfig>, _> = serde_path_to_error::deserialize(document);
    root.map(|root| root.0).map_err(|error| {
        let path = key_path(error.path());
        explain(document, &path, &error.inner().to_string(), report)
    })
}

fn key_path(path: &serde_path_to_error::Path) -> KeyPath {
    let mut out = KeyPath::root();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => out.push(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => {
                out.push(Segment::Key(variant.clone()))
            }
            serde_path_to_error::Segment::Unknown => break,
        }
    }
    out
}

/// Rewrites one serde message about the value at `path`.
fn explain(document: &Value, path: &KeyPath, message: &str, report: Reporter<'_>) -> ConfigError {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = split_ticked(rest);
        let expected = expected
            .strip_prefix(", expected ")
            .map(|list| format!("expected one of: {}", names(list)))
            .unwrap_or_else(|| "no keys are allowed here".to_owned());
        // serde_path_to_error records the unknown key as the path's last segment (a missing
        // key, below, never gets one).
        let at = match path.segments().last() {
            Some(Segment::Key(last)) if last == key => path.clone(),
            _ => path.key(key),
        };
        return report.at_key(
            &at,
            ErrorKind::UnknownKey,
            format!("unknown key ({expected})"),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let (key, _) = split_ticked(rest);
        return report.at_value(
            &path.key(key),
            ErrorKind::MissingKey,
            "missing required key",
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (variant, expected) = split_ticked(rest);
        let expected = names(expected.strip_prefix(", expected ").unwrap_or(""));
        return report.at_value(
            path,
            ErrorKind::InvalidValue,
            format!("unknown value {variant:?} (expected one of: {expected})"),
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        return duplicate_field(document, path, split_ticked(rest).0, report);
    }
    for (prefix, kind) in [
        ("invalid type: ", ErrorKind::InvalidType),
        ("invalid value: ", ErrorKind::InvalidValue),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let expected = rest.rsplit_once(", expected ").map_or(rest, |(_, e)| e);
            let found = describe(lookup(document, path));
            let message = format!("expected {}, got {found}", plain_expected(expected));
            return report.at_value(path, kind, message);
        }
    }
    // Our own deserializers (`Integer`) already speak in the crate's style.
    report.at_value(path, ErrorKind::InvalidValue, message)
}

/// Two spellings of one field: `applications` together with one of its aliases.
fn duplicate_field(
    document: &Value,
    path: &KeyPath,
    field: &str,
    report: Reporter<'_>,
) -> ConfigError {
    let present: Vec<&str> = match lookup(document, path) {
        Some(Value::Object(map)) if field == APPLICATION_KEYS[0] => APPLICATION_KEYS
            .into_iter()
            .filter(|key| map.contains_key(*key))
            .collect(),
        _ => Vec::new(),
    };
    match present.as_slice() {
        [first, second, ..] => report.at_key(
            &path.key(second),
            ErrorKind::DuplicateKey,
            format!("same key as {first:?} (applications, services and web are aliases); use one"),
        ),
        _ => report.at_key(&path.key(field), ErrorKind::DuplicateKey, "key given twice"),
    }
}

/// Splits "name`, rest" (the text after an opening backtick) into name and rest.
fn split_ticked(text: &str) -> (&str, &str) {
    text.split_once('`').unwrap_or((text, ""))
}

/// serde's lists ("`a`", "`a` or `b`", "one of `a`, `b`, `c`") as "a, b, c".
fn names(list: &str) -> String {
    let ticked: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    ticked.join(", ")
}

/// serde's names for expected types, in JSON's words.
fn plain_expected(expected: &str) -> &str {
    match expected {
        "a sequence" => "an array",
        "a map" => "an object",
        // serde_json asks for "string or map" when an enum is not a string; ours are all
        // plain strings.
        "string or map" => "a string",
        e if e.starts_with("struct ") => "an object",
        e if e.starts_with("enum ") => "a string",
        e => e,
    }
}

pub(crate) fn lookup<'v>(document: &'v Value, path: &KeyPath) -> Option<&'v Value> {
    path.segments()
        .iter()
        .try_fold(document, |value, segment| match segment {
            Segment::Key(key) => value.get(key),
            Segment::Index(index) => value.get(index),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn error(document: Value) -> String {
        let report = Reporter::new(Path::new("c.json"), None);
        let err = raw_config(&document, report).unwrap_err();
        err.message
    }

    #[test]
    fn rewrites_serde_messages() {
        assert_eq!(
            error(json!({"server": {"prot": 1}})),
            "unknown key (expected one of: hostname, port, backlog, routes, headersTimeout, \
             keepAliveTimeout, bodyTimeout, maxConnections, maxBodySize, trustProxy, https, http2)"
        );
        assert_eq!(
            error(json!({"applications": [{"path": "."}]})),
            "missing required key"
        );
        assert_eq!(
            error(json!({"logger": {"level": "verbose"}})),
            r#"unknown value "verbose" (expected one of: trace, debug, info, warn, error, fatal, silent)"#
        );
        assert_eq!(
            error(json!({"server": []})),
            "expected an object, got an array"
        );
        assert_eq!(
            error(json!({"applications": {}})),
            "expected an array, got an object"
        );
        assert_eq!(
            error(json!({"metrics": {"enabled": "yes"}})),
            r#"expected a boolean, got "yes""#
        );
        assert_eq!(
            error(json!({"server": {"port": null}})),
            "expected an integer, got null"
        );
        assert_eq!(
            error(json!({"applications": [], "web": []})),
            r#"same key as "applications" (applications, services and web are aliases); use one"#
        );
    }
}
