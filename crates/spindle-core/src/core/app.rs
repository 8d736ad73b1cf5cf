//! One app's place in the core, made the same way at start and when an app is added
//! live: its proxy (the [`App`] the data path reaches it by: queue, limits, counters)
//! and its mesh socket.

use std::path::PathBuf;
use std::sync::Arc;

use spindle_config::AppConfig;
use tokio::sync::watch;

use crate::datapath::app::App;
use crate::datapath::ready::ReadyWorkers;
use crate::mesh::{self, Mesh};

/// What every app's wiring shares.
#[derive(Clone)]
pub struct AppWiring {
    /// The Ready workers of every app, as the supervisor publishes them.
    pub ready: watch::Receiver<Arc<ReadyWorkers>>,
    pub mesh: Arc<Mesh>,
    pub mesh_listeners: mesh::Listeners,
    pub rundir: PathBuf,
    /// The data plane's runtime: it serves the mesh sockets, and the management API's
    /// injected requests run on it.
    pub runtime: tokio::runtime::Handle,
}

impl AppWiring {
    /// The app's proxy, with an empty queue; registered nowhere yet.
    pub fn proxy(&self, app: &AppConfig) -> Arc<App> {
        Arc::new(App {
            id: app.id.as_str().into(),
            ready: self.ready.clone(),
            queue: Arc::default(),
            max_in_flight: app.faults.max_in_flight_per_worker as usize,
            queue_timeout: app.faults.queue_timeout,
            response_timeout: app.faults.response_timeout,
            metrics: Arc::default(),
            keeps_prefix: keeps_prefix(&app.kind),
        })
    }

    /// Binds app `id`'s mesh socket and serves it.
    pub fn listen(&self, id: &str) -> std::io::Result<()> {
        self.serve(mesh::Socket::bind(&self.rundir, id)?);
        Ok(())
    }

    /// Serves an app's mesh socket, bound before (at start, with every other socket).
    pub fn serve(&self, socket: mesh::Socket) {
        self.mesh_listeners.serve(&self.runtime, &self.mesh, socket);
    }
}

/// Whether an app of this kind sees the `server.routes` prefix it is mounted under.
fn keeps_prefix(kind: &spindle_config::AppKind) -> bool {
    matches!(kind, spindle_config::AppKind::Next { .. })
}
