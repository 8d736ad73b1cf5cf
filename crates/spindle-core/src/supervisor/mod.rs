//! The one owner of the worker table. Everything that changes a worker's state arrives
//! here as an [`Event`] or a health tick; the supervisor decides, asks the thread
//! factory, and publishes [`ReadyWorkers`] for the data path and [`Status`] for everyone else.
//!
//! Parts:
//! - `table`: what is known of each app and worker.
//! - `lifecycle`: a worker's life as one enum, with its transitions; the published
//!   `WorkerState` is a projection of it.
//! - `spawn`, `ready`, `exit`: a worker's start, its first moment of service, its end.
//! - `standby`: workers loaded ahead of need, promoted when a place is empty.
//! - `dependencies`: apps that wait for the apps they depend on.
//! - `restart`, `scaling`, `stop`, `apps`: rolling restarts (one plan per app), the
//!   number of workers, taking workers out of routing, apps added and removed at run time.
//! - `tick`: the health tick: samples, verdicts, the choice of `health::retirements`,
//!   drains that have finished.
//! - `publish`: the ready workers for the data path and the status for everyone else.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_config::AppConfig;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::datapath::pipe::Pipe;
use crate::datapath::queue::AppQueue;
use crate::datapath::ready::ReadyWorkers;
use crate::host::WorkerHost;
use crate::logs::{LogSink, WorkerLog};
use crate::probe::Probe;
use crate::scaler;
use crate::status::Status;
use crate::{Phase, WorkerId};

mod apps;
mod dependencies;
mod exit;
mod lifecycle;
mod publish;
mod ready;
mod restart;
mod scaling;
mod spawn;
mod standby;
mod stop;
mod table;
#[cfg(test)]
mod tests;
mod tick;

pub use table::policy;
use table::{AppEntry, WorkerEntry};

#[derive(Debug)]
pub enum Event {
    /// The worker's server listens; requests reach it through `pipe`.
    Ready(WorkerId, Arc<Pipe>),
    /// The worker thread connected to the core: its loop can be sampled from now on.
    Attached(WorkerId, Arc<Probe>),
    /// The worker's `process` emitted 'exit': it serves nothing more, and `Exited`
    /// follows once Node has torn the thread down.
    Exiting(WorkerId),
    /// The worker thread ended. `error` is the uncaught error or load failure, if any.
    Exited {
        id: WorkerId,
        code: i32,
        error: Option<String>,
    },
    /// Time to start a replacement for a crashed worker of `app`.
    Respawn(Arc<str>),
    /// Replace every worker of one app (or of all apps), one at a time, each successor
    /// Ready before its predecessor drains.
    Restart(Option<Arc<str>>),
    /// Run `workers` workers of `app` from now on: start more, or drain and stop the newest.
    Scale { app: Arc<str>, workers: NonZeroU32 },
    /// A new app joins the running server (its proxy and mesh socket already exist).
    AddApp {
        config: Box<AppConfig>,
        queue: Arc<AppQueue>,
        /// The route prefix it was added with.
        base_path: Option<String>,
    },
    /// An app leaves: its workers drain and stop, then it is forgotten.
    RemoveApp(Arc<str>),
    /// Readiness goes false; workers keep serving what the ingress still sends.
    BeginShutdown,
    /// Stop every worker; the phase becomes Stopped when the last one has exited.
    StopWorkers { grace: Duration },
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

/// Log sinks of live workers, looked up by the addon when a worker thread attaches.
pub type WorkerLogs = Arc<Mutex<HashMap<WorkerId, Arc<WorkerLog>>>>;

pub struct Supervisor {
    host: Arc<dyn WorkerHost>,
    mesh_listeners: crate::mesh::Listeners,
    rundir: PathBuf,
    apps: BTreeMap<Arc<str>, AppEntry>,
    phase: Phase,
    events: mpsc::UnboundedSender<Event>,
    routes: watch::Sender<Arc<ReadyWorkers>>,
    status: watch::Sender<Arc<Status>>,
    logs: LogSink,
    worker_logs: WorkerLogs,
    log_level: &'static str,
    application_grace: Duration,
    /// Where the server listens, logged once when every app first has a Ready worker.
    urls: Urls,
    announced: bool,
    /// Health samples are stamped relative to this.
    origin: Instant,
    scaler: Option<scaler::Settings>,
    /// The scaler runs on every `SCALER_EVERY`th health tick.
    ticks: u64,
}

/// The addresses announced in the "spindle ready" line.
#[derive(Debug, Clone)]
pub struct Urls {
    pub ingress: String,
    pub admin: Option<String>,
}

pub struct SupervisorParts {
    pub host: Arc<dyn WorkerHost>,
    pub rundir: PathBuf,
    /// Closed for a removed app once its last worker is gone.
    pub mesh_listeners: crate::mesh::Listeners,
    pub apps: Vec<AppConfig>,
    pub entrypoint: String,
    /// Per app, the route prefix it is mounted under (told to its workers).
    pub base_paths: HashMap<String, String>,
    /// `logger.level`, for the logger each worker gives its app.
    pub log_level: &'static str,
    pub logs: LogSink,
    pub worker_logs: WorkerLogs,
    pub urls: Urls,
    pub application_grace: Duration,
    /// Per app, shared with the data path: wakes requests queued for a worker.
    pub queues: HashMap<String, Arc<AppQueue>>,
    /// Dynamic scaling: budget, thresholds, cooldown.
    pub scaling: spindle_config::ScalingConfig,
}

impl SupervisorParts {
    /// The scaler's settings, or None when no app scales.
    fn scaler_settings(&self) -> Option<scaler::Settings> {
        if !self.apps.iter().any(|a| a.scaling.dynamic) {
            return None;
        }
        let c = &self.scaling;
        Some(scaler::Settings {
            budget: c.total,
            scale_up_elu: c.scale_up_elu,
            scale_down_elu: c.scale_down_elu,
            cooldown: c.cooldown,
            grace_period: c.grace_period,
        })
    }
}

impl Supervisor {
    pub fn new(
        mut parts: SupervisorParts,
        events: mpsc::UnboundedSender<Event>,
        routes: watch::Sender<Arc<ReadyWorkers>>,
        status: watch::Sender<Arc<Status>>,
    ) -> Supervisor {
        let scaler = parts.scaler_settings();
        let apps = parts
            .apps
            .into_iter()
            .map(|config| {
                let id: Arc<str> = config.id.as_str().into();
                let queue = parts.queues.remove(&config.id).unwrap_or_default();
                let entrypoint = config.id == parts.entrypoint;
                let base_path = parts.base_paths.remove(&config.id);
                (id, AppEntry::new(config, entrypoint, base_path, queue))
            })
            .collect();
        Supervisor {
            host: parts.host,
            rundir: parts.rundir,
            mesh_listeners: parts.mesh_listeners,
            apps,
            phase: Phase::Starting,
            events,
            routes,
            status,
            logs: parts.logs,
            worker_logs: parts.worker_logs,
            log_level: parts.log_level,
            application_grace: parts.application_grace,
            urls: parts.urls,
            announced: false,
            origin: Instant::now(),
            scaler,
            ticks: 0,
        }
    }

    /// Starts every app's workers, then handles events and health ticks until every
    /// worker is gone after a shutdown.
    pub async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let apps: Vec<Arc<str>> = self.apps.keys().cloned().collect();
        for app in &apps {
            if let Some(entry) = self.apps.get(app).filter(|e| e.waiting) {
                let dependencies = entry.config.dependencies.join(", ");
                tracing::info!(
                    app = &**app,
                    dependencies,
                    "waiting for its dependencies to start"
                );
            }
            self.fill(app);
        }
        self.start_unblocked();
        self.publish();
        let period = self
            .apps
            .values()
            .map(|a| a.config.health.sample_interval)
            .min()
            .unwrap_or(spindle_config::DEFAULT_SAMPLE_INTERVAL);
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else { break };
                    self.handle(event);
                }
                _ = ticker.tick() => self.tick(),
            }
            self.publish();
            if self.phase == Phase::Stopped {
                break;
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Ready(id, pipe) => self.on_ready(id, pipe),
            Event::Attached(id, probe) => {
                if let Some(worker) = self.worker_mut(&id) {
                    worker.probe = Some(probe);
                }
            }
            Event::Exiting(id) => self.on_exiting(id),
            Event::Exited { id, code, error } => self.on_exited(id, code, error),
            Event::Respawn(app) => {
                if let Some(entry) = self.apps.get_mut(&app) {
                    entry.respawn_pending = false;
                }
                if self.accepting() {
                    self.fill(&app);
                    self.advance_restart(&app);
                }
            }
            Event::Restart(app) => {
                let apps: Vec<Arc<str>> = match app {
                    Some(app) => vec![app],
                    None => self.apps.keys().cloned().collect(),
                };
                for app in apps {
                    self.begin_restart(&app);
                }
            }
            Event::Scale { app, workers } => self.scale(&app, workers),
            Event::AddApp {
                config,
                queue,
                base_path,
            } => self.add_app(*config, queue, base_path),
            Event::RemoveApp(app) => self.remove_app(&app),
            Event::BeginShutdown => {
                self.phase = Phase::ShuttingDown;
                tracing::info!("shutting down: readiness is false, no new connections");
            }
            Event::StopWorkers { grace } => self.stop_all(grace),
        }
    }

    fn accepting(&self) -> bool {
        matches!(self.phase, Phase::Starting | Phase::Running)
    }

    fn worker_mut(&mut self, id: &WorkerId) -> Option<&mut WorkerEntry> {
        self.apps.get_mut(id.app())?.workers.get_mut(&id.n())
    }
}
