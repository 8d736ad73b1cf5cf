//! The management API's answers, as the commands read them. Fields the CLI does not show
//! are not declared; missing optional ones take defaults, so an older or newer server
//! still renders.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// `GET /v1/status`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub pid: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub uptime_ms: u64,
    #[serde(default)]
    pub url: Option<String>,
    /// Shown verbatim: starting, running, shuttingdown, stopped.
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub not_ready_reason: Option<String>,
    #[serde(default)]
    pub apps: Vec<AppStatus>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub id: String,
    /// Why the app gave up restarting its workers, if it did.
    #[serde(default)]
    pub failed: Option<String>,
    #[serde(default)]
    pub workers_wanted: Option<u32>,
    #[serde(default)]
    pub restarts: Restarts,
    #[serde(default)]
    pub workers: Vec<WorkerStatus>,
}

/// Workers started to replace others, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Restarts {
    #[serde(default)]
    pub crash: u64,
    #[serde(default)]
    pub unhealthy: u64,
    #[serde(default)]
    pub restart: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatus {
    pub id: String,
    pub state: WorkerState,
    /// Event-loop utilization (0–1), once sampled.
    #[serde(default)]
    pub elu: Option<f64>,
    #[serde(default)]
    pub heap: Option<Heap>,
    #[serde(default)]
    pub in_flight: u64,
    #[serde(default)]
    pub uptime_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Heap {
    pub used: u64,
    #[serde(default)]
    pub limit: u64,
}

/// A worker's place in its life, as the server names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    Starting,
    Ready,
    Standby,
    Draining,
    Stopped,
    Crashed,
    /// A state this CLI does not know yet.
    #[serde(other)]
    Unknown,
}

impl fmt::Display for WorkerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            WorkerState::Starting => "starting",
            WorkerState::Ready => "ready",
            WorkerState::Standby => "standby",
            WorkerState::Draining => "draining",
            WorkerState::Stopped => "stopped",
            WorkerState::Crashed => "crashed",
            WorkerState::Unknown => "?",
        })
    }
}

impl AppStatus {
    pub fn ready_workers(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| w.state == WorkerState::Ready)
            .count()
    }
}

/// `POST /v1/restart`.
#[derive(Debug, Clone, Deserialize)]
pub struct Restarting {
    pub apps: Vec<String>,
}

/// `POST /v1/apps/{id}/restart`.
#[derive(Debug, Clone, Deserialize)]
pub struct AppRestarting {
    pub app: String,
}

/// `POST /v1/apps/{id}/scale`.
#[derive(Debug, Clone, Deserialize)]
pub struct Scaled {
    pub app: String,
    pub workers: u32,
}

/// `POST /v1/apps/{id}/inject`.
#[derive(Debug, Clone, Deserialize)]
pub struct Injected {
    pub status: u16,
    /// A header's value, or its values when it was repeated.
    #[serde(default)]
    pub headers: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub body: String,
}

/// `GET /v1/metrics?format=json`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metrics {
    #[serde(default)]
    pub apps: Vec<AppMetrics>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppMetrics {
    pub id: String,
    #[serde(default)]
    pub requests: Vec<RequestCount>,
    #[serde(default)]
    pub latency: Vec<Latency>,
}

/// Requests answered, by method and class of status code.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCount {
    #[serde(default)]
    pub method: String,
    pub code_class: String,
    pub count: u64,
}

/// A latency histogram for one class of status code.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub code_class: String,
    /// Cumulative `[upper bound in seconds, count]` pairs, in rising order of bound.
    #[serde(deserialize_with = "buckets")]
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
}

/// Reads `[[0.001, 3], …]`; a bound that is not a number (`"+Inf"`, null) is infinite.
fn buckets<'de, D>(deserializer: D) -> Result<Vec<(f64, u64)>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw: Vec<(serde_json::Value, u64)> = Deserialize::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .map(|(bound, count)| (bound.as_f64().unwrap_or(f64::INFINITY), count))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_status() {
        let text = r#"{"pid":123,"name":"demo","version":"0.1.0","node":"v20.20.2","uptimeMs":1234,
            "url":"http://127.0.0.1:3042","admin":null,"phase":"running","ready":true,
            "notReadyReason":null,"apps":[{"id":"web","entrypoint":true,"failed":null,
            "workersWanted":2,"restarts":{"crash":1,"unhealthy":0,"restart":2},"stalls":0,
            "workers":[{"id":"web:0","state":"ready","elu":0.01,"heap":{"used":6411816,
            "total":9936896,"limit":4362076160},"inFlight":3,"uptimeMs":1200},
            {"id":"web:1","state":"hibernating","inFlight":0}]}]}"#;
        let status: Status = serde_json::from_str(text).unwrap();
        assert_eq!(status.pid, 123);
        assert_eq!(status.apps[0].restarts.restart, 2);
        let w = &status.apps[0].workers;
        assert_eq!(w[0].state, WorkerState::Ready);
        assert_eq!(w[0].in_flight, 3);
        assert_eq!(w[0].heap.unwrap().limit, 4362076160);
        assert_eq!(w[1].state, WorkerState::Unknown);
        assert!(w[1].elu.is_none() && w[1].heap.is_none());
        assert_eq!(status.apps[0].ready_workers(), 1);
    }

    #[test]
    fn reads_metrics_with_an_infinite_bound() {
        let text = r#"{"apps":[{"id":"web","requests":[{"method":"GET","codeClass":"2xx","count":25}],
            "latency":[{"codeClass":"2xx","buckets":[[0.001,0],[0.0025,3],["+Inf",25]],
            "count":25,"sumSeconds":0.12}],"rejected":{"overloaded":0},"retried":0}]}"#;
        let metrics: Metrics = serde_json::from_str(text).unwrap();
        let latency = &metrics.apps[0].latency[0];
        assert_eq!(latency.buckets[1], (0.0025, 3));
        assert_eq!(latency.buckets[2], (f64::INFINITY, 25));
    }
}
