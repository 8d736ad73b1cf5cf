//! The coordinator as a whole: it starts, takes the events the thread factory reports,
//! and shuts down. Start-up is three steps, a file each: [`bind`] takes every socket (a
//! taken port fails before anything starts), [`build`] makes each component from its
//! config section and spawns nothing, and [`spawn`] starts them. [`app`] wires one app,
//! the same way at start and when added live; [`shutdown`] is the graceful sequence.

mod app;
mod bind;
mod build;
mod shutdown;
mod spawn;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_config::Config;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use app::AppWiring;
pub use build::default_core_threads;

use crate::datapath::pipe::Pipe;
use crate::host::WorkerHost;
use crate::logs::{LogSink, WorkerLog};
use crate::mesh;
use crate::probe::Probe;
use crate::status::Status;
use crate::supervisor::{Event, WorkerLogs};
use crate::tls::Tls;
use crate::{rundir, WorkerId};

/// How this process runs, beyond its config.
#[derive(Debug, Clone, Default)]
pub struct CoreOptions {
    /// `process.version` of the Node running the workers.
    pub node_version: Option<String>,
    /// Dev mode: restart an app (replace-before-stop) when its files change.
    pub dev: bool,
    /// Threads for the data plane; None: [`default_core_threads`].
    pub core_threads: Option<usize>,
    /// The process environment, under which apps added later resolve their config.
    pub env: std::collections::BTreeMap<String, String>,
}

/// The management API's socket, in the process's private directory.
pub const CONTROL_SOCKET: &str = "control.sock";

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot resolve {what} address {host}:{port}: {source}")]
    Resolve {
        what: &'static str,
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the runtime directory under {base}: {source}")]
    RunDir {
        base: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the core runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Tls(#[from] spindle_config::TlsError),
}

pub struct Core {
    events: mpsc::UnboundedSender<Event>,
    status: watch::Receiver<Arc<Status>>,
    worker_logs: WorkerLogs,
    host: Arc<dyn WorkerHost>,
    logs: LogSink,
    runtime: Mutex<Option<Runtime>>,
    /// Turns true when the shutdown begins: the public port stops accepting and drains.
    drain: watch::Sender<bool>,
    ingress_task: Mutex<Option<JoinHandle<bool>>>,
    /// Turns true at [`Core::close`]: the listeners that serve through the shutdown stop.
    closing: watch::Sender<bool>,
    mesh_listeners: mesh::Listeners,
    shutting_down: AtomicBool,
    application_grace: Duration,
    rundir: PathBuf,
    /// Traces (`telemetry`): flushed once the workers are stopped.
    telemetry: Option<Arc<crate::telemetry::Telemetry>>,
    /// Where the ingress and the admin server listen, as bound (port 0 resolved).
    pub ingress_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    /// The public port's TLS, when `server.https` is set.
    tls: Option<Arc<Tls>>,
}

impl Core {
    /// Binds every socket (so a taken port fails here, before any worker starts), builds
    /// the components from their config sections, then starts them.
    pub fn start(
        config: &Config,
        host: Arc<dyn WorkerHost>,
        logs: LogSink,
        options: CoreOptions,
    ) -> Result<Arc<Core>, StartError> {
        let bound = bind::bind(config)?;
        let rundir = bound.rundir.clone();
        // A start that fails leaves no private directory behind for `spindle ps` to find.
        build::build(config, bound, host, logs, options)
            .and_then(spawn::spawn)
            .inspect_err(|_| rundir::remove(&rundir))
    }

    /// The latest status; await changes with `changed()` on the receiver.
    pub fn status(&self) -> watch::Receiver<Arc<Status>> {
        self.status.clone()
    }

    /// The worker's server listens; requests reach it through `pipe`.
    pub fn worker_ready(&self, id: WorkerId, pipe: Arc<Pipe>) {
        let _ = self.events.send(Event::Ready(id, pipe));
    }

    /// A worker thread began to exit (its `process` emitted 'exit'): it takes no more
    /// requests, though the thread ends only after Node has torn down its isolate.
    pub fn worker_exiting(&self, id: WorkerId) {
        let _ = self.events.send(Event::Exiting(id));
    }

    /// A worker thread connected: from now on its loop can be sampled through `probe`.
    pub fn worker_attached(&self, id: WorkerId, probe: Arc<Probe>) {
        let _ = self.events.send(Event::Attached(id, probe));
    }

    /// Rolling restart of one app (or every app): each worker is replaced by a successor
    /// that is Ready before the old one drains.
    pub fn restart(&self, app: Option<&str>) {
        let _ = self.events.send(Event::Restart(app.map(Arc::from)));
    }

    /// Whether the public port serves TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Reads the public port's keys and certificates again (`SIGHUP`): new handshakes use
    /// them; on an error (logged) the ones in use stay. False when they were not reloaded.
    pub fn reload_certificates(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.reload("SIGHUP"))
    }

    pub fn worker_exited(&self, id: WorkerId, code: i32, error: Option<String>) {
        let _ = self.events.send(Event::Exited { id, code, error });
    }

    /// Where a worker's stdout/stderr go; None for an unknown (already gone) worker.
    pub fn worker_log(&self, id: &WorkerId) -> Option<Arc<WorkerLog>> {
        crate::sync::lock(&self.worker_logs).get(id).cloned()
    }
}
