//! What [`Integer`](crate::integer::Integer), [`Number`](crate::number::Number) and
//! [`ByteSize`](crate::bytesize::ByteSize) share: each is written as a JSON number or as a
//! string holding one (placeholders expand inside strings, so a value from the environment
//! arrives as a string), and each is shown inline in the schema.
//!
//! A type says how it reads each form ([`NumberOrString`]); the one visitor here does the
//! rest, so the three accept the same forms and word their errors alike.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// A value read from a JSON number or a string. Errors are the message after the key path,
/// e.g. `expected an integer, got "abc"`.
pub(crate) trait NumberOrString: Sized {
    /// What the value may look like, for serde's "invalid type" message.
    const EXPECTED: &'static str;

    /// From a whole JSON number (any `i64` or `u64`).
    fn whole(value: i128) -> Self;

    /// From a JSON number with a fraction or an exponent.
    fn float(value: f64) -> Result<Self, String>;

    /// From a string.
    fn text(value: &str) -> Result<Self, String>;
}

/// Deserializes a [`NumberOrString`] value from either form.
pub(crate) fn deserialize<'de, T: NumberOrString, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_any(NumberOrStringVisitor(PhantomData))
}

struct NumberOrStringVisitor<T>(PhantomData<T>);

impl<T: NumberOrString> Visitor<'_> for NumberOrStringVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        Ok(T::whole(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        Ok(T::whole(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        T::float(value).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        T::text(value).map_err(E::custom)
    }
}

/// A whole value kept as `i128` (so validation can show it as written) goes back to JSON as
/// an `i64` when it fits.
pub(crate) fn serialize_whole<S: Serializer>(
    value: i128,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match i64::try_from(value) {
        Ok(value) => serializer.serialize_i64(value),
        Err(_) => serializer.serialize_i128(value),
    }
}

/// Implements `JsonSchema` for a type written inline wherever it is used (it gets no
/// definition of its own): its name, and its schema built by `|generator| schema`.
macro_rules! inline_schema {
    ($type:ty, $name:literal, |$generator:pat_param| $schema:expr) => {
        impl schemars::JsonSchema for $type {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn json_schema($generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $schema
            }
        }
    };
}

pub(crate) use inline_schema;
