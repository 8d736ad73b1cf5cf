//! Lifecycle as typed data: what a worker and the whole server are doing.

use serde::Serialize;

/// A worker's place in its life, as status, metrics and the CLI show it: a projection of
/// the supervisor's own lifecycle (`supervisor/lifecycle.rs`). `Crashed` can follow any state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// The server as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}
