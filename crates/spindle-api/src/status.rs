//! What a running server is doing: `GET /v1/status` and `GET /v1/apps`. The server also
//! publishes its apps and workers in these types internally, so what it shows and what it
//! holds are one thing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub pid: u32,
    /// The config file the server started from, if any (`spindle apps add --save` edits it).
    #[serde(default)]
    pub config: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// `process.version` of the Node running the workers.
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub uptime_ms: u64,
    /// The public listener; always sent by a server.
    #[serde(default)]
    pub url: Option<String>,
    /// The admin listener (probes, metrics), when there is one.
    #[serde(default)]
    pub admin: Option<String>,
    #[serde(default)]
    pub phase: Phase,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub not_ready_reason: Option<String>,
    #[serde(default)]
    pub apps: Vec<AppStatus>,
}

/// `GET /v1/apps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Apps {
    pub apps: Vec<AppStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub id: String,
    #[serde(default)]
    pub entrypoint: bool,
    /// Why the app gave up restarting its workers, if it did.
    #[serde(default)]
    pub failed: Option<String>,
    /// How many workers the app should run (config, or the last scale). Always sent by
    /// this server; a reader falls back to the workers it sees.
    #[serde(default)]
    pub workers_wanted: Option<u32>,
    /// Workers started to replace others, by why.
    #[serde(default)]
    pub restarts: Restarts,
    /// Scaler decisions, up and down.
    #[serde(default)]
    pub scaled: ScalerDecisions,
    /// Times a worker's event loop was found stuck.
    #[serde(default)]
    pub stalls: u64,
    #[serde(default)]
    pub workers: Vec<WorkerStatus>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restarts {
    /// A worker crashed (exception, exit, out of memory, failed load).
    #[serde(default)]
    pub crash: u64,
    /// A worker was judged unhealthy (stuck loop, ELU, heap).
    #[serde(default)]
    pub unhealthy: u64,
    /// A rolling restart.
    #[serde(default)]
    pub restart: u64,
}

/// The worker-count changes the scaler made (`scaled` in an app's status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalerDecisions {
    #[serde(default)]
    pub up: u64,
    #[serde(default)]
    pub down: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatus {
    pub id: String,
    pub state: WorkerState,
    /// Event-loop utilization over the last sample interval (0–1), once sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<Heap>,
    /// Requests the ingress has sent it that are not finished.
    #[serde(default)]
    pub in_flight: u64,
    /// Since the thread was started. Always sent by this server.
    #[serde(default)]
    pub uptime_ms: Option<u64>,
}

/// A worker's V8 heap, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heap {
    pub used: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub limit: u64,
}

/// A worker's place in its life, as status, metrics and the CLI show it: a projection of
/// the supervisor's own lifecycle (`supervisor/lifecycle.rs`). `Crashed` can follow any state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    /// Thread requested; the app is loading and has not served yet.
    Starting,
    /// Listening on its private socket; receives requests.
    Ready,
    /// Loaded and listening, but sent no requests: waits to take the place of a worker
    /// that crashes or turns unhealthy, or to serve a scale-up, without a cold start.
    Standby,
    /// Gets no new requests; finishing the ones it has, then it is stopped.
    Draining,
    /// Exited after being asked to stop.
    Stopped,
    /// Exited without being asked (exception, `process.exit`, out of memory, failed load).
    Crashed,
    /// A state of a newer server that this build does not know; never made by this one.
    #[serde(other)]
    Unknown,
}

/// The server as a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Workers are being started; not every app is ready yet.
    Starting,
    /// Every app had a ready worker at least once.
    Running,
    /// A shutdown was requested: readiness is false, no new connections.
    ShuttingDown,
    /// Every worker has exited; the process may end.
    Stopped,
    /// A phase of a newer server that this build does not know (or none was sent); never
    /// made by this one.
    #[default]
    #[serde(other)]
    Unknown,
}

impl WorkerState {
    /// Every state a server of this build makes: metrics count workers in each.
    pub const KNOWN: [WorkerState; 6] = [
        WorkerState::Starting,
        WorkerState::Ready,
        WorkerState::Standby,
        WorkerState::Draining,
        WorkerState::Stopped,
        WorkerState::Crashed,
    ];

    /// Its name on the wire and in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Starting => "starting",
            WorkerState::Ready => "ready",
            WorkerState::Standby => "standby",
            WorkerState::Draining => "draining",
            WorkerState::Stopped => "stopped",
            WorkerState::Crashed => "crashed",
            WorkerState::Unknown => "unknown",
        }
    }
}

/// Its name, or `?` for a state this build does not know.
impl fmt::Display for WorkerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerState::Unknown => f.pad("?"),
            known => f.pad(known.as_str()),
        }
    }
}

/// As on the wire.
impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::ShuttingDown => "shuttingdown",
            Phase::Stopped => "stopped",
            Phase::Unknown => "?",
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

impl Restarts {
    pub fn by_reason(&self) -> [(&'static str, u64); 3] {
        [
            ("crash", self.crash),
            ("unhealthy", self.unhealthy),
            ("restart", self.restart),
        ]
    }
}
