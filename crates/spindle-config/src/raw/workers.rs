//! `workers`: the dynamic scaler at the top level, and an application's count or range.

use std::fmt;

use schemars::{json_schema, JsonSchema};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::integer::Integer;
use crate::number::Number;
use crate::scalar::inline_schema;

/// An application's `workers`: a number, or an object.
#[derive(Debug)]
pub(crate) enum RawAppWorkers {
    /// A number (or a string holding one).
    Count(Integer),
    /// An object.
    Range(RawWorkerRange),
}

impl<'de> Deserialize<'de> for RawAppWorkers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AppWorkersVisitor)
    }
}

/// Numbers and strings are read as an [`Integer`] (with its messages); maps as the object,
/// through the map access serde_path_to_error tracks keys with (as [`Object`] does).
struct AppWorkersVisitor;

impl AppWorkersVisitor {
    fn count<'de, E: de::Error>(value: impl IntoDeserializer<'de, E>) -> Result<RawAppWorkers, E> {
        Integer::deserialize(value.into_deserializer()).map(RawAppWorkers::Count)
    }
}

impl<'de> Visitor<'de> for AppWorkersVisitor {
    type Value = RawAppWorkers;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or an object")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAppWorkers, A::Error> {
        RawWorkerRange::deserialize(MapAccessDeserializer::new(map)).map(RawAppWorkers::Range)
    }
}

impl Serialize for RawAppWorkers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Count(count) => count.serialize(serializer),
            Self::Range(range) => range.serialize(serializer),
        }
    }
}

inline_schema!(RawAppWorkers, "ApplicationWorkersOrCount", |generator| {
    let mut count = Integer::json_schema(generator);
    count.insert("minimum".into(), 1.into());
    let range = generator.subschema_for::<RawWorkerRange>();
    json_schema!({ "anyOf": [count, range] })
});

/// An application's `workers` as an object: `static` for a fixed count, or `minimum` and
/// `maximum` for a range the dynamic scaler moves the count in, starting at `minimum`. Keys
/// not given are taken from the top-level `workers`, then the defaults (`minimum` 1,
/// `maximum` the top-level `total`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    rename = "ApplicationWorkers",
    extend("dependentSchemas" = {
        "static": {
            "properties": { "minimum": false, "maximum": false, "dynamic": { "const": false } }
        }
    })
)]
pub(crate) struct RawWorkerRange {
    /// A fixed number of workers; not together with `minimum` or `maximum`.
    #[serde(rename = "static", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fixed: Option<Integer>,
    /// The fewest workers, and the number to start with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub minimum: Option<Integer>,
    /// The most workers; at least `minimum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub maximum: Option<Integer>,
    /// Whether the scaler moves the count between `minimum` and `maximum`. Defaults to true
    /// when either is given, else to the top-level `workers.dynamic`. `false` fixes the count
    /// at `minimum` (1 when not given); it cannot be `true` with `static`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
}

/// The dynamic scaler (Watt's runtime-level `workers`). An application whose workers'
/// event-loop utilization is above `scaleUpELU` gets one more worker, as long as all
/// applications together stay within `total`; one below `scaleDownELU` loses one, never
/// going below its minimum. Two actions are at least `cooldown` apart, and a new worker is
/// left out for `gracePeriod`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Workers")]
pub(crate) struct RawWorkers {
    /// Workers of an application whose own `workers` is not given (Watt's top-level
    /// `workers` as a number is read as this).
    #[serde(rename = "static", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fixed: Option<Integer>,
    /// Whether applications whose `workers` is a number (or not given) scale dynamically,
    /// between `minimum` and `maximum`, starting at their number kept within that range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    /// The most workers of all applications together; at least the sum of the applications'
    /// minimums when any application scales dynamically. Defaults to the machine's available
    /// parallelism.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub total: Option<Integer>,
    /// Event-loop utilization (above 0, at most 1) above which an application scales up.
    #[serde(rename = "scaleUpELU", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub scale_up_elu: Option<Number>,
    /// Event-loop utilization (above 0, below `scaleUpELU`) below which an application scales
    /// down.
    #[serde(rename = "scaleDownELU", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub scale_down_elu: Option<Number>,
    /// The fewest milliseconds between two scaling actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cooldown: Option<Integer>,
    /// Milliseconds after a worker starts before it counts in scaling decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub grace_period: Option<Integer>,
    /// The fewest workers of an application scaled because of `dynamic` (and of one whose
    /// `workers` object gives no `minimum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub minimum: Option<Integer>,
    /// The most workers of an application scaled because of `dynamic` (and of one whose
    /// `workers` object gives no `maximum`); at least `minimum`. Defaults to `total`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub maximum: Option<Integer>,
}
