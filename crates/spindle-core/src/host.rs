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
    /// The app's directory.
    pub dir: PathBuf,
    /// The module the worker imports.
    pub entry: PathBuf,
    /// The private Unix socket the app's server is moved onto.
    pub socket: PathBuf,
    /// The app's whole environment (`process.env` in the worker).
    pub env: BTreeMap<String, String>,
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
