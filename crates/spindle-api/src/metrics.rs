//! `GET /v1/metrics?format=json`: per app, request counts and latency histograms, for
//! `spindle top` to turn two samples into rates and a p99.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(default)]
    pub apps: Vec<AppMetrics>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppMetrics {
    pub id: String,
    #[serde(default)]
    pub requests: Vec<RequestCount>,
    #[serde(default)]
    pub latency: Vec<Latency>,
    /// Requests refused before reaching a worker, by reason.
    #[serde(default)]
    pub rejected: BTreeMap<String, u64>,
    /// Requests sent again to another worker.
    #[serde(default)]
    pub retried: u64,
}

/// Requests answered, by method and class of status code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCount {
    #[serde(default)]
    pub method: String,
    pub code_class: String,
    pub count: u64,
}

/// A latency histogram for one class of status code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub code_class: String,
    /// Cumulative `[upper bound in seconds, count]` pairs, in rising order of bound.
    #[serde(deserialize_with = "buckets")]
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    #[serde(default)]
    pub sum_seconds: f64,
}

/// Reads `[[0.001, 3], …]`; a bound that is not a number (`"+Inf"`, null) is infinite.
fn buckets<'de, D>(deserializer: D) -> Result<Vec<(f64, u64)>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Vec<(serde_json::Value, u64)> = Deserialize::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .map(|(bound, count)| (bound.as_f64().unwrap_or(f64::INFINITY), count))
        .collect())
}
