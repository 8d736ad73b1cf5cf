//! The management API's wire types: every answer and request body of the control socket
//! (`docs/management-api.md`), shared by the server that writes them (`spindle-core`) and
//! the `spindle` command that reads them (`spindle-cli`), so the two cannot drift apart.
//!
//! Compatibility runs both ways, since the command may talk to an older or newer server:
//! fields a reader can do without take defaults when missing, and an enum value this build
//! does not know reads as `Unknown`. Request bodies are read as leniently as the server
//! always has: a field of the wrong JSON type counts as absent.
//!
//! - [`status`]: the server, its apps and their workers (`/v1/status`, `/v1/apps`).
//! - [`actions`]: what changes a running server, request and answer (restart, scale,
//!   add, remove, inject, stop).
//! - [`metrics`]: per-app request counts and latency histograms (`/v1/metrics?format=json`).
//! - [`error`]: the body of every 4xx/5xx answer.

pub mod actions;
pub mod error;
pub mod metrics;
pub mod status;

pub use actions::{
    AddApp, Added, AppRestarting, InjectRequest, Injected, Removing, Restarting, ScaleRequest,
    Scaled, Stopping,
};
pub use error::ErrorBody;
pub use metrics::{AppMetrics, Latency, Metrics, RequestCount};
pub use status::{
    AppStatus, Apps, Heap, Phase, Restarts, ScalerDecisions, Status, WorkerState, WorkerStatus,
};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// A field of the wrong JSON type reads as its default, as if it were absent: the server
/// has always read request bodies that way (`"workers": "3"` is no number of workers).
fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).unwrap_or_default())
}

/// A request body as `T`. A body that is not a JSON object has none of its fields (serde
/// alone would read a struct from an array of its fields, or fail on a string), as the
/// server has always read it; an object fails only where a type says it must.
pub fn from_object<T: DeserializeOwned + Default>(
    value: &serde_json::Value,
) -> Result<T, serde_json::Error> {
    if !value.is_object() {
        return Ok(T::default());
    }
    T::deserialize(value)
}

#[cfg(test)]
mod tests;
