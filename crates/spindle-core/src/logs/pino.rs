//! Recognises pino lines among a worker's output.
//!
//! A worker that logs with pino already prints the line format Spindle uses, so its
//! lines must pass through rather than be wrapped as plain text a second time.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// A JSON object line with a pino `level` — a number, or a level name as pino's
/// `formatters.level` writes it — and its fields in the order they were written.
///
/// Order is kept (serde_json's own map sorts keys) so pretty output shows the fields the
/// way the application logged them.
#[derive(Debug)]
pub(crate) struct PinoLine(pub(crate) Vec<(String, Value)>);

impl PinoLine {
    /// Parses `line`, or `None` when it is not a pino line.
    pub(crate) fn parse(line: &str) -> Option<PinoLine> {
        // Cheap test first: most plain output is not `{...}` and skips the parser.
        let trimmed = line.trim();
        if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
            return None;
        }
        let parsed: PinoLine = serde_json::from_str(trimmed).ok()?;
        parsed.level().is_some().then_some(parsed)
    }

    /// The level as pino's number; a name is read as its standard number.
    pub(crate) fn level(&self) -> Option<f64> {
        match self.get("level")? {
            Value::Number(n) => n.as_f64(),
            Value::String(name) => spindle_logline::level_number(name).map(|l| l as f64),
            _ => None,
        }
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether the object has `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl<'de> Deserialize<'de> for PinoLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedObject;

        impl<'de> Visitor<'de> for OrderedObject {
            type Value = PinoLine;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PinoLine, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    fields.push(entry);
                }
                Ok(PinoLine(fields))
            }
        }

        deserializer.deserialize_map(OrderedObject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_object_with_a_numeric_level_is_a_pino_line() {
        let line = PinoLine::parse(r#" {"level":30,"time":1,"msg":"hi","z":1,"a":2} "#).unwrap();
        let keys: Vec<&str> = line.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["level", "time", "msg", "z", "a"]);
        assert!(line.has("msg"));
        assert!(!line.has("app"));
        assert_eq!(line.level(), Some(30.0));
    }

    #[test]
    fn a_level_name_from_formatters_level_is_a_pino_line() {
        let line = PinoLine::parse(r#"{"level":"warn","time":1,"msg":"hi"}"#).unwrap();
        assert_eq!(line.level(), Some(40.0));
        let line = PinoLine::parse(r#"{"level":"ERROR","msg":"upper case"}"#).unwrap();
        assert_eq!(line.level(), Some(50.0));
    }

    #[test]
    fn other_lines_are_not() {
        for line in [
            "plain text",
            r#"{"level":"loud","msg":"not a level name"}"#,
            r#"{"level":true,"msg":"not a level"}"#,
            r#"{"msg":"no level"}"#,
            r#"{"level":30,"msg":"truncated"#,
            "[1,2,3]",
            "{}",
            "{ not json }",
        ] {
            assert!(PinoLine::parse(line).is_none(), "{line}");
        }
    }
}
