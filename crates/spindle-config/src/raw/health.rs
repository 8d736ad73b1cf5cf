//! `health`: how workers' health is judged, at the top level and per application.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bytesize::ByteSize;
use crate::integer::Integer;
use crate::number::Number;

/// How workers' health is judged. Every key is optional: an application's `health` falls back
/// key by key to the top-level `health`, which falls back to the defaults.
///
/// The event loop and heap of each worker are sampled every `sampleInterval`. A loop that has
/// not turned for `maxStall` is stuck and its worker is replaced at once. Every `interval` a
/// health check compares the samples with `maxELU` and `maxHeapUsed`; after
/// `maxUnhealthyChecks` failed checks in a row the worker is replaced (checks count from
/// `gracePeriod` after the worker is ready).
#[derive(Debug, Default, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Health")]
pub(crate) struct RawHealth {
    /// Whether workers' health is judged at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Milliseconds between two samples of a worker's event loop and heap; at least 10 and at
    /// most `interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10))]
    pub sample_interval: Option<Integer>,
    /// Milliseconds between two health checks (`maxELU`, `maxHeapUsed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10))]
    pub interval: Option<Integer>,
    /// Milliseconds after a worker is ready before health checks count (the stall rule
    /// applies at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub grace_period: Option<Integer>,
    /// Failed health checks in a row before the worker is replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_unhealthy_checks: Option<Integer>,
    /// Event-loop utilization (above 0, at most 1) above which a health check fails.
    #[serde(rename = "maxELU", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub max_elu: Option<Number>,
    /// Heap used, as a fraction (above 0, at most 1) of `maxHeapTotal`, above which a health
    /// check fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub max_heap_used: Option<Number>,
    /// The worker's heap limit (old plus young generation), at least 16 MiB: bytes, or a size
    /// such as `"512MB"`, `"4GB"` or `"1.5G"`. As in Watt every unit is 1024-based: `B`, `K`
    /// / `KB` / `KiB`, `M` / `MB` / `MiB`, `G` / `GB` / `GiB`, in any case (`"1GB"` is
    /// 1073741824 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16777216))]
    pub max_heap_total: Option<ByteSize>,
    /// The young generation's share of the heap limit, at least 1 MiB and less than
    /// `maxHeapTotal`: bytes or a size, as for `maxHeapTotal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1048576))]
    pub max_young_generation: Option<ByteSize>,
    /// Milliseconds without a turn of the event loop after which a worker is stuck and
    /// replaced; at least twice `sampleInterval`, since a stall is seen between samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 20))]
    pub max_stall: Option<Integer>,
}
