//! Typed field values captured from `tracing` events and spans.
//!
//! Values keep their kind (number, bool, string) so the JSON output has `"pid":42` rather
//! than `"pid":"42"`, which is what log queries filter on.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};

use super::escape::push_json_str;

/// One recorded field value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    Int(i64),
    Uint(u64),
    BigInt(i128),
    BigUint(u128),
    Float(f64),
    Bool(bool),
    /// Strings, and `Debug`/`Display` values rendered to text.
    Str(String),
}

/// Named fields in the order they were recorded.
pub(crate) type Fields = Vec<(&'static str, FieldValue)>;

impl FieldValue {
    /// Appends the value as a JSON value.
    pub(crate) fn push_json(&self, out: &mut String) {
        match self {
            FieldValue::Int(v) => push_display(out, v),
            FieldValue::Uint(v) => push_display(out, v),
            FieldValue::BigInt(v) => push_display(out, v),
            FieldValue::BigUint(v) => push_display(out, v),
            // JSON has no NaN or infinity; a string keeps the line parseable.
            FieldValue::Float(v) if !v.is_finite() => push_json_str(out, &v.to_string()),
            FieldValue::Float(v) => push_display(out, v),
            FieldValue::Bool(v) => push_display(out, v),
            FieldValue::Str(v) => push_json_str(out, v),
        }
    }
}

fn push_display(out: &mut String, value: impl fmt::Display) {
    let _ = write!(out, "{value}");
}

/// Collects an event's or span's fields; the `message` field is kept apart because it
/// becomes `msg`.
#[derive(Default)]
pub(crate) struct Collector {
    pub(crate) message: Option<String>,
    pub(crate) fields: Fields,
}

impl Collector {
    fn put(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
            self.message = Some(match value {
                FieldValue::Str(s) => s,
                other => {
                    let mut s = String::new();
                    other.push_json(&mut s);
                    s
                }
            });
            return;
        }
        // A span's `record()` may set a field again; the newest value wins.
        match self
            .fields
            .iter_mut()
            .find(|(name, _)| *name == field.name())
        {
            Some((_, slot)) => *slot = value,
            None => self.fields.push((field.name(), value)),
        }
    }
}

impl Visit for Collector {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, FieldValue::Float(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, FieldValue::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, FieldValue::Uint(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, FieldValue::BigInt(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, FieldValue::BigUint(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, FieldValue::Str(value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, FieldValue::Str(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: FieldValue) -> String {
        let mut out = String::new();
        value.push_json(&mut out);
        out
    }

    #[test]
    fn values_keep_their_json_kind() {
        assert_eq!(json(FieldValue::Int(-3)), "-3");
        assert_eq!(json(FieldValue::BigUint(u128::MAX)), u128::MAX.to_string());
        assert_eq!(json(FieldValue::Float(1.5)), "1.5");
        assert_eq!(json(FieldValue::Float(f64::NAN)), "\"NaN\"");
        assert_eq!(json(FieldValue::Bool(true)), "true");
        assert_eq!(json(FieldValue::Str("a\"b".into())), r#""a\"b""#);
    }
}
