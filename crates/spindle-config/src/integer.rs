//! Integers that may also be written as strings, so `"port": "{PORT}"` works.
//!
//! Placeholders are expanded inside strings, so a number that comes from the environment
//! arrives as a string. This type accepts both forms and keeps the full value (even negative or
//! huge ones): range checks belong to validation, which can then say what the value was.

use std::fmt;
use std::time::Duration;

use schemars::json_schema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::scalar::{self, inline_schema, NumberOrString};

/// An integer given as a JSON number or a string holding one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Integer(pub(crate) i128);

impl Integer {
    /// A duration as the config writes it: milliseconds (the raw types' defaults).
    pub(crate) fn millis(duration: Duration) -> Self {
        Self(duration.as_millis() as i128)
    }
}

impl From<u16> for Integer {
    fn from(value: u16) -> Self {
        Self(value.into())
    }
}

impl From<u32> for Integer {
    fn from(value: u32) -> Self {
        Self(value.into())
    }
}

impl From<u64> for Integer {
    fn from(value: u64) -> Self {
        Self(value.into())
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl NumberOrString for Integer {
    const EXPECTED: &'static str = "an integer";

    fn whole(value: i128) -> Self {
        Self(value)
    }

    /// `3.0` is accepted: JSON does not distinguish it from `3`, and neither does JavaScript.
    fn float(value: f64) -> Result<Self, String> {
        if value.fract() == 0.0 && value.abs() < 1e18 {
            Ok(Self(value as i128))
        } else {
            Err(format!("expected an integer, got {value}"))
        }
    }

    fn text(value: &str) -> Result<Self, String> {
        value
            .trim()
            .parse()
            .map(Self)
            .map_err(|_| format!("expected an integer, got {value:?}"))
    }
}

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        scalar::deserialize(deserializer)
    }
}

impl Serialize for Integer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        scalar::serialize_whole(self.0, serializer)
    }
}

// `minimum`/`maximum` added by field attributes constrain only the number form; the string
// form must be digits or contain a placeholder.
inline_schema!(Integer, "Integer", |_| json_schema!({
    "type": ["integer", "string"],
    "pattern": r"^\s*-?[0-9]+\s*$|\{\{?[A-Za-z0-9_]+\}\}?"
}));

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Integer, String> {
        Integer::deserialize(value).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_numbers_and_numeric_strings() {
        assert_eq!(parse(json!(8080)), Ok(Integer(8080)));
        assert_eq!(parse(json!(-1)), Ok(Integer(-1)));
        assert_eq!(parse(json!(3.0)), Ok(Integer(3)));
        assert_eq!(parse(json!(" 42 ")), Ok(Integer(42)));
        assert_eq!(parse(json!(u64::MAX)), Ok(Integer(u64::MAX.into())));
    }

    #[test]
    fn rejects_everything_else_with_the_value() {
        assert_eq!(
            parse(json!("abc")).unwrap_err(),
            r#"expected an integer, got "abc""#
        );
        assert_eq!(
            parse(json!(1.5)).unwrap_err(),
            "expected an integer, got 1.5"
        );
        assert!(parse(json!(true)).unwrap_err().starts_with("invalid type"));
    }
}
