//! The thread factory: whoever can create and end Node worker threads.
//!
//! In production that is the JS main thread, reached through the addon; the core only
//! asks, and learns what happened through [`crate::Core`]'s event methods.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::WorkerId;

/// Everything a new worker thread needs to load its app.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerSpec {
    #[serde(serialize_with = "as_string")]
    pub id: WorkerId,
    pub app: String,
    /// The `n` of `app:n` (Watt's `workerId`).
    pub index: u32,
    /// Whether the app gets the public port's traffic that no route claims.
    pub entrypoint: bool,
    /// The `server.routes` prefix the app is mounted under, if any: it gets requests with the
    /// prefix removed, so it needs this to build its own public URLs.
    pub base_path: Option<String>,
    /// The configured `logger.level`, for the logger the worker gives the app.
    pub log_level: String,
    /// The app's directory.
    pub dir: PathBuf,
    /// The module the worker imports (for [`Serve::Entry`]).
    pub entry: PathBuf,
    /// How the worker serves the app.
    pub serve: Serve,
    /// The private Unix socket the app's server listens on instead of its port. No request
    /// comes through it (they come through memory); it makes `listen()` behave as usual.
    pub socket: PathBuf,
    /// Where the worker sends calls to `http://<app>.plt.local` (its app's mesh socket).
    pub mesh_socket: PathBuf,
    /// The app's whole environment (`process.env` in the worker).
    pub env: BTreeMap<String, String>,
    /// The Worker's V8 heap limits: exceeding them ends the worker with ERR_WORKER_OUT_OF_MEMORY.
    pub resource_limits: ResourceLimits,
    /// How often the worker reports its heap (which also keeps its loop turning when idle,
    /// so a loop count that stops moving means a stuck loop).
    pub sample_interval_ms: u64,
    /// How often the worker publishes its runtime figures (event-loop delay, GC, handles,
    /// heap spaces) for the metrics.
    pub runtime_metrics_interval_ms: u64,
    /// How often the worker publishes its app's prom-client registry, when the app has one.
    pub app_metrics_interval_ms: u64,
    /// Whether an uncaught exception or unhandled rejection ends the worker.
    pub exit_on_unhandled_errors: bool,
    /// Node options of the worker thread (`Worker`'s `execArgv`); empty keeps Node's default.
    pub exec_argv: Vec<String>,
    /// Extra `process.argv` of the worker.
    pub argv: Vec<String>,
    /// How long the app has, from loading, to listen before its start fails.
    pub start_timeout_ms: u64,
}

/// How a worker serves its app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Serve {
    /// Imports the entry file and takes the server it listens on or exports.
    Entry,
    /// Starts Next.js's production server on the build in the app's directory
    /// (`@platformatic/next`); requests keep the prefix the app is mounted under.
    Next,
}

impl Serve {
    pub fn of(kind: &spindle_config::AppKind) -> Serve {
        match kind {
            spindle_config::AppKind::Node => Serve::Entry,
            spindle_config::AppKind::Next { .. } => Serve::Next,
        }
    }
}

/// Node's `Worker` `resourceLimits`, in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLimits {
    pub max_old_generation_size_mb: u64,
    pub max_young_generation_size_mb: u64,
}

impl ResourceLimits {
    /// `heap_total` covers both generations, as Watt's `maxHeapTotal` does.
    pub fn from_bytes(heap_total: u64, young: u64) -> ResourceLimits {
        const MIB: u64 = 1024 * 1024;
        ResourceLimits {
            max_old_generation_size_mb: (heap_total.saturating_sub(young) / MIB).max(1),
            max_young_generation_size_mb: (young / MIB).max(1),
        }
    }
}

fn as_string<S: serde::Serializer>(id: &WorkerId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

/// Requests to the thread factory. They are fire-and-forget: the outcome comes back as
/// events (`worker_ready`, `worker_exited`), because a thread can die at any moment.
pub trait WorkerHost: Send + Sync + 'static {
    /// Start a worker thread.
    fn spawn(&self, spec: &WorkerSpec);
    /// Ask the worker to close its server and exit; terminate it if it is still there after `grace`.
    fn stop(&self, id: &WorkerId, grace: Duration);
    /// End the worker now (`Worker.terminate()`, which interrupts even a busy loop).
    fn terminate(&self, id: &WorkerId);
    /// Every worker is gone and the core has stopped: the process may exit with `code`.
    fn exit(&self, code: i32);
}
