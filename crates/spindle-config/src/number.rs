//! Numbers (fractions such as `0.95`) that may also be written as strings, so
//! `"maxELU": "{MAX_ELU}"` works.
//!
//! The counterpart of [`Integer`](crate::integer::Integer) for keys that take any number:
//! both forms are accepted and the value is kept as written; range checks belong to
//! validation.

use std::fmt;

use schemars::json_schema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::scalar::{self, inline_schema, NumberOrString};

/// A finite number given as a JSON number or a string holding one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Number(pub(crate) f64);

impl From<f64> for Number {
    fn from(value: f64) -> Self {
        Self(value)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl NumberOrString for Number {
    const EXPECTED: &'static str = "a number";

    fn whole(value: i128) -> Self {
        Self(value as f64)
    }

    fn float(value: f64) -> Result<Self, String> {
        Ok(Self(value))
    }

    /// Rust also parses `inf` and `NaN`; JSON has neither, so they are refused.
    fn text(value: &str) -> Result<Self, String> {
        match value.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(Self(number)),
            _ => Err(format!("expected a number, got {value:?}")),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        scalar::deserialize(deserializer)
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

// As for `Integer`: bounds added by field attributes constrain only the number form.
inline_schema!(Number, "Number", |_| json_schema!({
    "type": ["number", "string"],
    "pattern": r"^\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$|\{\{?[A-Za-z0-9_]+\}\}?"
}));

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Number, String> {
        Number::deserialize(value).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_numbers_and_numeric_strings() {
        assert_eq!(parse(json!(0.95)), Ok(Number(0.95)));
        assert_eq!(parse(json!(1)), Ok(Number(1.0)));
        assert_eq!(parse(json!(-2)), Ok(Number(-2.0)));
        assert_eq!(parse(json!(" 0.5 ")), Ok(Number(0.5)));
        assert_eq!(parse(json!("1e-1")), Ok(Number(0.1)));
    }

    #[test]
    fn rejects_everything_else_with_the_value() {
        assert_eq!(
            parse(json!("high")).unwrap_err(),
            r#"expected a number, got "high""#
        );
        assert_eq!(
            parse(json!("inf")).unwrap_err(),
            r#"expected a number, got "inf""#
        );
        assert_eq!(
            parse(json!("NaN")).unwrap_err(),
            r#"expected a number, got "NaN""#
        );
        assert!(parse(json!(true)).unwrap_err().starts_with("invalid type"));
    }

    #[test]
    fn displays_as_written_in_json() {
        assert_eq!(Number(1.5).to_string(), "1.5");
        assert_eq!(Number(2.0).to_string(), "2");
    }
}
