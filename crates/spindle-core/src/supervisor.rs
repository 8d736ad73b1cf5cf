//! The one owner of the worker table. Everything that changes a worker's state arrives
//! here as an [`Event`] or a health tick; the supervisor decides, asks the thread
//! factory, and publishes [`ReadyWorkers`] for the data path and [`Status`] for everyone else.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_config::AppConfig;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::backoff;
use crate::datapath::endpoint::Endpoint;
use crate::datapath::pipe::Pipe;
use crate::datapath::queue::AppQueue;
use crate::datapath::ready::{ReadyApp, ReadyWorkers};
use crate::health::{self, History, Policy, Verdict};
use crate::host::{ResourceLimits, Serve, WorkerHost, WorkerSpec};
use crate::logs::{LogSink, WorkerLog};
use crate::probe::Probe;
use crate::scaler;
use crate::status::{AppStatus, HeapStatus, Restarts, Scaled, Status, WorkerStatus};
use crate::{Phase, WorkerId, WorkerState};

/// A stuck worker waits for its successor at most this many `maxStall`s before it is
/// terminated anyway: a spinning thread also slows the successor's start.
const STALLED_WAIT_FACTOR: u32 = 3;

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

/// Why a worker is on its way out, and how far along.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Retire {
    /// Unhealthy: out of routing, waiting until a successor is Ready.
    AwaitSuccessor { stalled: bool, since: Instant },
    /// Out of routing; its in-flight requests finish until `deadline`.
    Draining { deadline: Instant },
    /// Asked to stop, or terminated; waiting for its exit.
    Stopping,
}

struct WorkerEntry {
    state: WorkerState,
    started: Instant,
    ready_at: Option<Instant>,
    socket: PathBuf,
    endpoint: Option<Arc<Endpoint>>,
    probe: Option<Arc<Probe>>,
    history: History,
    retire: Option<Retire>,
    /// Started as a standby and not promoted yet: it waits in `Standby` once loaded.
    standby: bool,
    /// Its thread is exiting without having been asked to: out of routing already.
    exiting: bool,
}

impl AppEntry {
    fn new(
        config: AppConfig,
        entrypoint: bool,
        base_path: Option<String>,
        queue: Arc<AppQueue>,
    ) -> AppEntry {
        let has_dependencies = !config.dependencies.is_empty();
        AppEntry {
            entrypoint,
            base_path,
            policy: policy(&config.health),
            config,
            queue,
            next_n: 0,
            streak: 0,
            failed_starts: 0,
            failed: None,
            respawn_pending: false,
            restart_queue: VecDeque::new(),
            restart_step: None,
            restarting: false,
            removing: false,
            last_scaled: None,
            restarts: Restarts::default(),
            scaled: Scaled::default(),
            stalls: 0,
            workers: BTreeMap::new(),
            settled: false,
            waiting: has_dependencies,
        }
    }
}

impl WorkerEntry {
    /// Counts toward the app's configured number of workers.
    fn is_serving_or_starting(&self) -> bool {
        self.retire.is_none()
            && !self.standby
            && !self.exiting
            && matches!(self.state, WorkerState::Starting | WorkerState::Ready)
    }

    /// Counts toward the app's `standbyWorkers`.
    fn is_standby(&self) -> bool {
        self.retire.is_none()
            && self.standby
            && !self.exiting
            && matches!(self.state, WorkerState::Starting | WorkerState::Standby)
    }
}

struct AppEntry {
    config: AppConfig,
    policy: Policy,
    entrypoint: bool,
    /// The route prefix it is mounted under.
    base_path: Option<String>,
    queue: Arc<AppQueue>,
    next_n: u32,
    /// Crashes in a row soon after start: sets the restart delay.
    streak: u32,
    /// Workers in a row that crashed before becoming Ready: past `maxFailedStarts`, the
    /// app is marked failed.
    failed_starts: u32,
    /// Why the app gave up restarting.
    failed: Option<String>,
    /// A restart is scheduled and not yet started.
    respawn_pending: bool,
    /// Rolling restart: workers still to replace, and the successor now starting.
    restart_queue: VecDeque<u32>,
    restart_step: Option<(u32, u32)>,
    restarting: bool,
    /// Being removed: no new workers; forgotten once the last one has exited.
    removing: bool,
    /// When the number of workers last changed (scaler, scale command), for the cooldown.
    last_scaled: Option<Instant>,
    restarts: Restarts,
    scaled: Scaled,
    stalls: u64,
    workers: BTreeMap<u32, WorkerEntry>,
    /// Every worker it started with was ready once, or it failed: the apps that depend on
    /// it may start.
    settled: bool,
    /// Not started yet: some of its `dependencies` have not settled.
    waiting: bool,
}

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

/// Scaling decisions are taken once a second (every 4th health tick at the default 250 ms).
const SCALER_EVERY: u64 = 4;
/// ELU that a scaling decision looks at: the mean over the last second of each Ready worker.
const SCALER_WINDOW: Duration = Duration::from_secs(1);

pub fn policy(config: &spindle_config::HealthConfig) -> Policy {
    Policy {
        enabled: config.enabled,
        interval: config.interval,
        grace_period: config.grace_period,
        max_unhealthy_checks: config.max_unhealthy_checks,
        max_elu: config.max_elu,
        max_heap_used: config.max_heap_used,
        max_stall: config.max_stall,
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

    fn spawn(&mut self, app: &Arc<str>, standby: bool) -> u32 {
        let entry = self.apps.get_mut(app).expect("spawn for a known app");
        let n = entry.next_n;
        entry.next_n += 1;
        let id = WorkerId::new(app.clone(), n);
        let socket = self.rundir.join(format!("w-{app}-{n}.sock"));
        let health = &entry.config.health;
        let spec = WorkerSpec {
            id: id.clone(),
            app: app.to_string(),
            index: n,
            entrypoint: entry.entrypoint,
            base_path: entry.base_path.clone(),
            log_level: self.log_level.to_owned(),
            dir: entry.config.path.clone(),
            entry: entry.config.entry.clone(),
            serve: Serve::of(&entry.config.kind),
            socket: socket.clone(),
            mesh_socket: crate::mesh::socket_path(&self.rundir, app),
            env: entry.config.env.clone(),
            resource_limits: ResourceLimits::from_bytes(
                health.max_heap_total,
                health.max_young_generation,
            ),
            sample_interval_ms: health.sample_interval.as_millis() as u64,
            runtime_metrics_interval_ms: crate::metrics::published::RUNTIME_INTERVAL.as_millis()
                as u64,
            app_metrics_interval_ms: crate::metrics::published::APP_INTERVAL.as_millis() as u64,
            exit_on_unhandled_errors: entry.config.faults.exit_on_unhandled_errors,
            exec_argv: entry.config.exec_argv.clone(),
            argv: entry.config.arguments.clone(),
            start_timeout_ms: u64::try_from(entry.config.start_timeout.as_millis())
                .unwrap_or(u64::MAX),
        };
        entry.workers.insert(
            n,
            WorkerEntry {
                state: WorkerState::Starting,
                started: Instant::now(),
                ready_at: None,
                socket,
                endpoint: None,
                probe: None,
                history: History::new(),
                retire: None,
                standby,
                exiting: false,
            },
        );
        let log = Arc::new(self.logs.worker(app, &id.to_string()));
        self.worker_logs
            .lock()
            .expect("worker log table")
            .insert(id.clone(), log);
        tracing::debug!(worker = %id, entry = %spec.entry.display(), standby, "starting worker");
        self.host.spawn(&spec);
        n
    }

    /// Brings `app` to as many serving or starting workers as configured, standby ones
    /// first, then tops up its standby workers.
    fn fill(&mut self, app: &Arc<str>) {
        if self.apps.get(app).is_some_and(|e| e.waiting) {
            return;
        }
        let missing = self.promote_standby(app);
        for _ in 0..missing {
            self.spawn(app, false);
        }
        self.top_up_standby(app);
    }

    /// Puts standby workers in the places `app` is short of, loaded ones first; returns
    /// how many places are still missing.
    fn promote_standby(&mut self, app: &Arc<str>) -> usize {
        let accepting = self.accepting();
        let Some(entry) = self.apps.get_mut(app) else {
            return 0;
        };
        if entry.failed.is_some() || entry.removing || !accepting {
            return 0;
        }
        let current = entry
            .workers
            .values()
            .filter(|w| w.is_serving_or_starting())
            .count();
        let mut missing = (entry.config.workers.get() as usize).saturating_sub(current);
        let mut serving_now = Vec::new();
        while missing > 0 {
            let Some((&n, w)) = entry
                .workers
                .iter_mut()
                .filter(|(_, w)| w.is_standby())
                .min_by_key(|(_, w)| (w.state != WorkerState::Standby, w.started))
            else {
                break;
            };
            missing -= 1;
            w.standby = false;
            let id = WorkerId::new(app.clone(), n);
            if w.state == WorkerState::Standby {
                w.state = WorkerState::Ready;
                // Health's grace period counts from the first request it may get.
                w.ready_at = Some(Instant::now());
                tracing::info!(worker = %id, "standby worker promoted: serving from now on");
                serving_now.push(n);
            } else {
                tracing::info!(worker = %id, "standby worker promoted while still starting: it serves once ready");
            }
        }
        for n in serving_now {
            self.successor_ready(app, n);
        }
        missing
    }

    /// Starts standby workers up to `standbyWorkers`, once none of the serving ones is
    /// starting: a standby loading alongside them would only slow them down.
    fn top_up_standby(&mut self, app: &Arc<str>) {
        if !self.accepting() {
            return;
        }
        let Some(entry) = self.apps.get(app) else {
            return;
        };
        if entry.failed.is_some() || entry.removing || entry.respawn_pending {
            return;
        }
        let faults = &entry.config.faults;
        // Unset `standbyWorkers`: an app that has failed once is likely to again, and its
        // next replacement should not be a cold start.
        let earned =
            faults.standby_after_failure && entry.restarts.crash + entry.restarts.unhealthy > 0;
        let wanted = (faults.standby_workers as usize).max(usize::from(earned));
        if wanted == 0
            || entry
                .workers
                .values()
                .any(|w| w.is_serving_or_starting() && w.state == WorkerState::Starting)
        {
            return;
        }
        let current = entry.workers.values().filter(|w| w.is_standby()).count();
        for _ in current..wanted {
            self.spawn(app, true);
        }
    }

    /// Starts the waiting apps whose dependencies have all settled (an id no longer known,
    /// such as a removed app, holds nothing back).
    fn start_unblocked(&mut self) {
        let unblocked: Vec<Arc<str>> = self
            .apps
            .iter()
            .filter(|(_, entry)| {
                entry.waiting
                    && entry
                        .config
                        .dependencies
                        .iter()
                        .all(|dep| self.apps.get(dep.as_str()).is_none_or(|d| d.settled))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for app in unblocked {
            if let Some(entry) = self.apps.get_mut(&app) {
                entry.waiting = false;
                tracing::info!(app = &*app, "its dependencies have started: starting");
            }
            self.fill(&app);
        }
    }

    /// Marks `app` settled (its first workers all ready, or it failed) and starts the apps
    /// that were waiting only for it.
    fn settle(&mut self, app: &Arc<str>) {
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if entry.settled {
            return;
        }
        entry.settled = true;
        self.start_unblocked();
    }

    fn on_ready(&mut self, id: WorkerId, pipe: Arc<Pipe>) {
        let Some(entry) = self.apps.get_mut(id.app()) else {
            return;
        };
        let queue = entry.queue.clone();
        let Some(worker) = entry.workers.get_mut(&id.n()) else {
            return;
        };
        if worker.state != WorkerState::Starting {
            return;
        }
        let now = Instant::now();
        entry.failed_starts = 0;
        worker.endpoint = Some(Endpoint::new(pipe, queue));
        worker.ready_at = Some(now);
        let startup = worker.started.elapsed();
        let app = id.app_arc().clone();
        if worker.standby {
            worker.state = WorkerState::Standby;
            tracing::info!(worker = %id, startup_ms = startup.as_millis() as u64, "standby worker ready");
            // The app may have lost a worker while this one was loading.
            self.promote_standby(&app);
            return;
        }
        worker.state = WorkerState::Ready;
        self.successor_ready(&app, id.n());

        if self.phase == Phase::Starting && self.all_apps_ready() {
            self.phase = Phase::Running;
        }
        // Routable before anyone reads the log line that says so.
        self.publish();
        tracing::info!(worker = %id, startup_ms = startup.as_millis() as u64, "worker ready");
        if self.phase == Phase::Running && !self.announced {
            self.announced = true;
            self.announce_ready();
        }
        self.advance_restart(&app);
        self.top_up_standby(&app);
        let all_up = self.apps.get(&app).is_some_and(|e| {
            e.workers
                .values()
                .filter(|w| w.state == WorkerState::Ready)
                .count()
                >= e.config.workers.get() as usize
        });
        if all_up {
            self.settle(&app);
        }
    }

    /// Worker `n` of `app` has just begun to serve: the worker it replaces leaves routing,
    /// either the old one of a rolling-restart step or the oldest awaiting a successor.
    fn successor_ready(&mut self, app: &Arc<str>, n: u32) {
        let deadline = Instant::now() + self.application_grace;
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if let Some((old, successor)) = entry.restart_step {
            if successor == n {
                entry.restart_step = None;
                if let Some(w) = entry.workers.get_mut(&old) {
                    if w.retire.is_none() && w.state.is_alive() {
                        w.retire = Some(Retire::Draining { deadline });
                        w.state = WorkerState::Draining;
                    }
                }
                return;
            }
        }
        if let Some((&old, w)) = entry
            .workers
            .iter_mut()
            .filter(|(_, w)| matches!(w.retire, Some(Retire::AwaitSuccessor { .. })))
            .min_by_key(|(_, w)| w.started)
        {
            if let Some(Retire::AwaitSuccessor { stalled: true, .. }) = w.retire {
                // A stuck loop cannot finish anything: end it now; its requests are retried.
                w.retire = Some(Retire::Stopping);
                let stuck = WorkerId::new(app.clone(), old);
                let successor = WorkerId::new(app.clone(), n);
                tracing::info!(worker = %stuck, successor = %successor, "terminating the stuck worker: its successor is ready");
                self.host.terminate(&stuck);
            } else {
                w.retire = Some(Retire::Draining { deadline });
            }
        }
    }

    fn add_app(&mut self, config: AppConfig, queue: Arc<AppQueue>, base_path: Option<String>) {
        if !self.accepting() {
            return;
        }
        let id: Arc<str> = config.id.as_str().into();
        if self.apps.contains_key(&id) {
            tracing::warn!(app = &*id, "app already present; add ignored");
            return;
        }
        tracing::info!(app = &*id, workers = config.workers.get(), path = %config.path.display(), "app added");
        let entry = AppEntry::new(config, false, base_path, queue);
        self.apps.insert(id.clone(), entry);
        self.fill(&id);
        self.start_unblocked();
    }

    fn remove_app(&mut self, app: &Arc<str>) {
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if entry.entrypoint {
            return;
        }
        tracing::info!(app = &**app, "removing app: draining its workers");
        entry.removing = true;
        entry.restart_queue.clear();
        entry.restart_step = None;
        let serving: Vec<u32> = entry
            .workers
            .iter()
            .filter(|(_, w)| w.state.is_alive() && w.retire.is_none())
            .map(|(n, _)| *n)
            .collect();
        self.retire(app, &serving);
        self.forget_if_removed(app);
    }

    /// Takes workers `ns` of `app` out of routing: a starting one is stopped at once, a
    /// serving one drains first (up to `gracefulShutdown.application`).
    fn retire(&mut self, app: &Arc<str>, ns: &[u32]) {
        let application_grace = self.application_grace;
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        let mut stop_now = Vec::new();
        for n in ns {
            let Some(w) = entry.workers.get_mut(n) else {
                continue;
            };
            if w.state == WorkerState::Starting {
                w.retire = Some(Retire::Stopping);
                stop_now.push(*n);
            } else {
                w.retire = Some(Retire::Draining {
                    deadline: Instant::now() + application_grace,
                });
            }
            w.state = WorkerState::Draining;
        }
        for n in stop_now {
            self.host
                .stop(&WorkerId::new(app.clone(), n), application_grace);
        }
    }

    /// A removed app whose last worker is gone leaves the table.
    fn forget_if_removed(&mut self, app: &str) {
        if self
            .apps
            .get(app)
            .is_some_and(|e| e.removing && e.workers.is_empty())
        {
            self.apps.remove(app);
            self.mesh_listeners.close(&self.rundir, app);
            tracing::info!(app, "app removed");
            self.start_unblocked();
        }
    }

    fn scale(&mut self, app: &Arc<str>, workers: NonZeroU32) {
        if !self.accepting() {
            return;
        }
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        let before = entry.config.workers;
        entry.config.workers = workers;
        entry.last_scaled = Some(Instant::now());
        tracing::info!(
            app = &**app,
            from = before.get(),
            to = workers.get(),
            "scaling app"
        );
        let current: Vec<u32> = entry
            .workers
            .iter()
            .filter(|(_, w)| w.is_serving_or_starting())
            .map(|(n, _)| *n)
            .collect();
        let extra = current.len().saturating_sub(workers.get() as usize);
        // The newest go first: starting ones have nothing to drain, and the oldest have
        // proven themselves.
        let newest: Vec<u32> = current.iter().rev().take(extra).copied().collect();
        self.retire(app, &newest);
        self.fill(app);
    }

    fn begin_restart(&mut self, app: &Arc<str>) {
        if !self.accepting() {
            return;
        }
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        entry.failed = None;
        entry.streak = 0;
        entry.failed_starts = 0;
        entry.restarting = true;
        // Standby workers loaded the code being replaced: new ones follow the restart.
        let standby: Vec<u32> = entry
            .workers
            .iter()
            .filter(|(_, w)| w.is_standby())
            .map(|(n, _)| *n)
            .collect();
        entry.restart_queue = entry
            .workers
            .iter()
            .filter(|(_, w)| w.is_serving_or_starting())
            .map(|(n, _)| *n)
            .collect();
        tracing::info!(
            app = &**app,
            workers = entry.restart_queue.len(),
            "restarting app"
        );
        let nothing_to_replace = entry.restart_queue.is_empty();
        self.retire(app, &standby);
        if nothing_to_replace {
            self.fill(app);
        }
        self.advance_restart(app);
    }

    /// Starts the successor of the next worker in the app's restart queue, if none is starting.
    fn advance_restart(&mut self, app: &Arc<str>) {
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if entry.restart_step.is_some() || entry.failed.is_some() {
            return;
        }
        while let Some(old) = entry.restart_queue.pop_front() {
            if entry
                .workers
                .get(&old)
                .is_some_and(|w| w.is_serving_or_starting())
            {
                let successor = self.spawn(app, false);
                let entry = self.apps.get_mut(app).expect("known app");
                entry.restart_step = Some((old, successor));
                entry.restarts.restart += 1;
                return;
            }
        }
        if entry.restarting {
            entry.restarting = false;
            tracing::info!(app = &**app, "app restarted");
        }
    }

    /// A worker leaving unasked stops getting requests now, and a standby takes its place;
    /// the rest (logs, restart) waits for its exit.
    fn on_exiting(&mut self, id: WorkerId) {
        let Some(worker) = self.worker_mut(&id) else {
            return;
        };
        if worker.retire.is_some() || !worker.state.is_alive() || worker.exiting {
            return;
        }
        worker.exiting = true;
        tracing::debug!(worker = %id, "worker exiting unasked: out of routing");
        self.promote_standby(id.app_arc());
    }

    fn on_exited(&mut self, id: WorkerId, code: i32, error: Option<String>) {
        let accepting = self.accepting();
        let Some(entry) = self.apps.get_mut(id.app()) else {
            return;
        };
        let Some(worker) = entry.workers.get_mut(&id.n()) else {
            return;
        };
        let log = self
            .worker_logs
            .lock()
            .expect("worker log table")
            .remove(&id);
        if let Some(log) = &log {
            log.finish();
        }
        let _ = std::fs::remove_file(&worker.socket);
        if let Some(endpoint) = &worker.endpoint {
            // Already done when the worker's environment was torn down; a worker that
            // never got that far fails its requests here.
            endpoint.pipe.detach();
        }
        let asked_to_stop = worker.retire.is_some() || worker.state == WorkerState::Stopped;
        worker.endpoint = None;
        worker.probe = None;
        let mut respawn = None;
        let mut promote = false;
        let mut app_failed = false;
        if asked_to_stop {
            worker.state = WorkerState::Stopped;
            tracing::info!(worker = %id, code, "worker exited");
        } else {
            let was = worker.state;
            worker.state = WorkerState::Crashed;
            let lived = worker.started.elapsed();
            let last_lines = log.map(|l| l.tail()).unwrap_or_default();
            let last_lines = last_lines[last_lines.len().saturating_sub(10)..].join("\n");
            let reason = error.as_deref().unwrap_or("exited");
            if was == WorkerState::Starting {
                tracing::error!(worker = %id, app = id.app(), entry = %entry.config.entry.display(), code, error = reason, last_lines, "worker failed to start");
            } else {
                tracing::error!(worker = %id, code, error = reason, lived_ms = lived.as_millis() as u64, last_lines, "worker crashed");
            }
            if let Some((old, successor)) = entry.restart_step {
                if successor == id.n() {
                    // The old worker keeps serving; its replacement is tried again after the delay.
                    entry.restart_step = None;
                    entry.restart_queue.push_front(old);
                }
            }
            if was == WorkerState::Starting {
                entry.failed_starts += 1;
            }
            promote = !worker.standby;
            if accepting {
                let served = worker.ready_at.map_or(Duration::ZERO, |at| at.elapsed());
                let (delay, streak) = backoff::after_crash(entry.streak, served);
                entry.streak = streak;
                if entry.failed_starts >= entry.config.faults.max_failed_starts {
                    let why = format!(
                        "{} workers in a row failed to start; last error: {}",
                        entry.failed_starts,
                        first_line(reason)
                    );
                    tracing::error!(app = id.app(), reason = why.as_str(), "app failed");
                    entry.failed = Some(why);
                    app_failed = true;
                } else if !entry.respawn_pending {
                    entry.respawn_pending = true;
                    entry.restarts.crash += 1;
                    respawn = Some(delay);
                }
            }
        }
        // Forget finished workers, keeping the table small across many restarts.
        entry.workers.retain(|_, w| w.state.is_alive());
        let removed_app = entry.removing && entry.workers.is_empty();
        if promote {
            // A loaded standby takes the place now; the respawn below (after the crash
            // loop's delay, if any) starts the next standby.
            self.promote_standby(id.app_arc());
        }
        if let Some(delay) = respawn {
            let app = id.app_arc().clone();
            if delay.is_zero() {
                let _ = self.events.send(Event::Respawn(app));
            } else {
                tracing::warn!(
                    app = id.app(),
                    delay_ms = delay.as_millis() as u64,
                    "restarting after a delay: the app keeps crashing soon after start"
                );
                let events = self.events.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = events.send(Event::Respawn(app));
                });
            }
        }
        if removed_app {
            self.forget_if_removed(id.app());
        }
        if app_failed {
            // Its dependents start all the same: waiting for it would never end, and their
            // own calls to it get its errors, which say why.
            self.settle(id.app_arc());
        }
        if self.phase == Phase::ShuttingDown && self.apps.values().all(|a| a.workers.is_empty()) {
            self.phase = Phase::Stopped;
        }
    }

    /// Samples every serving worker's loop, judges its health, and moves retiring workers along.
    fn tick(&mut self) {
        let now = Instant::now();
        let at = now - self.origin;
        let application_grace = self.application_grace;
        let mut to_fill = Vec::new();
        let mut to_stop = Vec::new();
        let mut to_terminate = Vec::new();
        for (app, entry) in self.apps.iter_mut() {
            // ELU and heap verdicts retire at most one worker of an app at a time, and
            // never its last serving one: when every worker is busy because the app is
            // saturated, replacing them all would only remove capacity.
            let mut serving = entry
                .workers
                .values()
                .filter(|w| w.retire.is_none() && w.state == WorkerState::Ready)
                .count();
            let mut retiring = entry
                .workers
                .values()
                .any(|w| w.retire.is_some() && w.state.is_alive());
            // Every serving worker busy is load, not a fault: a replacement would be just
            // as busy, and starting it costs the capacity and the tail latency the app is
            // short of (measured: a saturated 2-worker app lost a worker to ELU every few
            // seconds, and p99 tripled). So ELU replaces only a worker over maxElu while
            // a sibling has room (below the data path's saturation mark); the scaler, not
            // replacement, answers load.
            let app_saturated = entry
                .workers
                .values()
                .filter(|w| w.retire.is_none() && w.state == WorkerState::Ready)
                .all(|w| {
                    w.history
                        .latest()
                        .is_some_and(|s| s.elu >= crate::datapath::endpoint::SATURATED_BELOW)
                });
            for (n, w) in entry.workers.iter_mut() {
                let id = || WorkerId::new(app.clone(), *n);
                match w.retire {
                    None if w.state == WorkerState::Ready && !w.exiting => {
                        let Some(probe) = &w.probe else { continue };
                        let Some(reading) = probe.read(at) else {
                            continue;
                        };
                        if let (Some(sample), Some(endpoint)) =
                            (w.history.push(reading), &w.endpoint)
                        {
                            endpoint.observe_elu(sample.elu);
                        }
                        let ready_at = w.ready_at.map_or(at, |r| r - self.origin);
                        if let Verdict::Unhealthy(reason) =
                            health::verdict(&w.history, &entry.policy, ready_at, at)
                        {
                            let stalled = reason.kind() == "stalled";
                            if reason.kind() == "elu" && app_saturated {
                                tracing::debug!(worker = %id(), detail = %reason, "busy, but so is every worker of the app: load, not a fault; kept");
                                continue;
                            }
                            if !stalled && (retiring || serving <= 1) {
                                tracing::debug!(worker = %id(), detail = %reason, "unhealthy, but kept: another worker is being replaced or it is the last one serving");
                                continue;
                            }
                            serving = serving.saturating_sub(1);
                            retiring = true;
                            entry.restarts.unhealthy += 1;
                            if stalled {
                                entry.stalls += 1;
                                // Requests queued behind the stall would wait for the
                                // successor and the termination: those the worker never
                                // took go to another worker now.
                                if let Some(endpoint) = &w.endpoint {
                                    let moved = endpoint.pipe.withdraw_untaken();
                                    if moved > 0 {
                                        tracing::info!(worker = %id(), requests = moved, "requests the stuck worker never took moved to another worker");
                                    }
                                }
                            }
                            tracing::warn!(worker = %id(), reason = reason.kind(), detail = %reason, "worker unhealthy");
                            w.retire = Some(Retire::AwaitSuccessor {
                                stalled,
                                since: now,
                            });
                            w.state = WorkerState::Draining;
                            to_fill.push(app.clone());
                        }
                    }
                    Some(Retire::AwaitSuccessor {
                        stalled: true,
                        since,
                    }) if now - since >= entry.policy.max_stall * STALLED_WAIT_FACTOR => {
                        tracing::warn!(worker = %id(), "terminating the stuck worker before its successor is ready");
                        w.retire = Some(Retire::Stopping);
                        to_terminate.push(id());
                    }
                    Some(Retire::Draining { deadline }) => {
                        let idle = w.endpoint.as_ref().is_none_or(|e| e.in_flight() == 0);
                        if idle || now >= deadline {
                            w.retire = Some(Retire::Stopping);
                            w.state = WorkerState::Draining;
                            to_stop.push(id());
                        }
                    }
                    _ => {}
                }
            }
        }
        for id in to_terminate {
            self.host.terminate(&id);
        }
        for id in to_stop {
            self.host.stop(&id, application_grace);
        }
        for app in to_fill {
            if self.accepting() {
                self.fill(&app);
            }
        }
        self.ticks += 1;
        if self.ticks.is_multiple_of(SCALER_EVERY) {
            self.autoscale(now);
        }
    }

    /// Asks the scaler what each dynamic app should run, and applies it.
    fn autoscale(&mut self, now: Instant) {
        let Some(settings) = &self.scaler else { return };
        if self.phase != Phase::Running {
            return;
        }
        let views: Vec<scaler::AppView> = self
            .apps
            .values()
            .map(|entry| {
                let s = &entry.config.scaling;
                let (min, max) = if s.dynamic {
                    (s.min.get(), s.max.get())
                } else {
                    (entry.config.workers.get(), entry.config.workers.get())
                };
                let elus: Vec<f64> = entry
                    .workers
                    .values()
                    .filter(|w| w.state == WorkerState::Ready && w.retire.is_none())
                    .filter_map(|w| w.history.elu_over(SCALER_WINDOW))
                    .collect();
                scaler::AppView {
                    id: entry.config.id.clone(),
                    limits: scaler::AppLimits { min, max },
                    workers: entry.config.workers.get(),
                    elu: (!elus.is_empty()).then(|| elus.iter().sum::<f64>() / elus.len() as f64),
                    last_change: entry.last_scaled.map(|t| t - self.origin),
                }
            })
            .collect();
        let decisions = scaler::decide(&views, settings, Duration::ZERO, now - self.origin);
        for scaler::Decision::Scale {
            app,
            from,
            to,
            reason,
        } in decisions
        {
            let Some(workers) = NonZeroU32::new(to) else {
                continue;
            };
            tracing::info!(app = app.as_str(), from, to, reason = reason.kind(), detail = %reason, "scaler decision");
            let key: Arc<str> = app.as_str().into();
            if let Some(entry) = self.apps.get_mut(&key) {
                if to > from {
                    entry.scaled.up += 1;
                } else {
                    entry.scaled.down += 1;
                }
            }
            self.scale(&key, workers);
        }
    }

    fn stop_all(&mut self, grace: Duration) {
        for entry in self.apps.values_mut() {
            entry.restart_queue.clear();
            entry.restart_step = None;
            for (n, worker) in entry.workers.iter_mut() {
                if worker.state.is_alive() && worker.retire != Some(Retire::Stopping) {
                    worker.state = WorkerState::Draining;
                    worker.retire = Some(Retire::Stopping);
                    self.host
                        .stop(&WorkerId::new(entry.config.id.as_str(), *n), grace);
                }
            }
        }
        if self
            .apps
            .values()
            .all(|a| a.workers.values().all(|w| !w.state.is_alive()))
        {
            self.phase = Phase::Stopped;
        }
    }

    fn worker_mut(&mut self, id: &WorkerId) -> Option<&mut WorkerEntry> {
        self.apps.get_mut(id.app())?.workers.get_mut(&id.n())
    }

    fn all_apps_ready(&self) -> bool {
        self.apps
            .values()
            .all(|a| a.workers.values().any(|w| w.state == WorkerState::Ready))
    }

    fn announce_ready(&self) {
        let apps: Vec<&str> = self.apps.keys().map(|a| &**a).collect();
        tracing::info!(
            url = self.urls.ingress.as_str(),
            admin = self.urls.admin.as_deref(),
            apps = apps.join(","),
            "spindle ready"
        );
    }

    fn publish(&self) {
        let mut routes = HashMap::new();
        let mut apps = Vec::new();
        for (id, entry) in &self.apps {
            let ready: Vec<Arc<Endpoint>> = entry
                .workers
                .values()
                .filter(|w| w.state == WorkerState::Ready && w.retire.is_none() && !w.exiting)
                .filter_map(|w| w.endpoint.clone())
                .collect();
            routes.insert(
                id.clone(),
                ReadyApp {
                    ready,
                    failed: entry.failed.clone(),
                },
            );
            apps.push(AppStatus {
                id: id.to_string(),
                entrypoint: entry.entrypoint,
                failed: entry.failed.clone(),
                workers_wanted: entry.config.workers.get(),
                restarts: entry.restarts,
                scaled: entry.scaled,
                stalls: entry.stalls,
                route: entry.base_path.clone(),
                workers: entry
                    .workers
                    .iter()
                    .map(|(n, w)| {
                        let latest = w.history.latest();
                        WorkerStatus {
                            id: format!("{id}:{n}"),
                            state: w.state,
                            elu: latest.map(|s| s.elu),
                            heap: latest.and_then(|s| s.heap).map(|h| HeapStatus {
                                used: h.used,
                                total: h.total,
                                limit: h.limit,
                            }),
                            in_flight: w.endpoint.as_ref().map_or(0, |e| e.in_flight() as u64),
                            uptime_ms: w.started.elapsed().as_millis() as u64,
                            figures: w.probe.as_ref().map(|p| p.figures().clone()),
                        }
                    })
                    .collect(),
            });
        }
        self.status.send_replace(Arc::new(Status {
            phase: self.phase,
            apps,
        }));
        let routes = ReadyWorkers::new(routes);
        // Only a real change is sent: it wakes every queued request to look again, which
        // on each 250 ms health tick would be work for nothing.
        if !self.routes.borrow().same_as(&routes) {
            self.routes.send_replace(Arc::new(routes));
            for entry in self.apps.values() {
                // Requests queued for this app look again at the new set of workers.
                entry.queue.wake_all();
            }
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::logs::Format;

    #[derive(Debug, PartialEq)]
    enum Call {
        Spawn(String),
        Stop(String),
        Terminate(String),
        Exit(i32),
    }

    struct FakeHost(mpsc::UnboundedSender<Call>);

    impl WorkerHost for FakeHost {
        fn spawn(&self, spec: &WorkerSpec) {
            let _ = self.0.send(Call::Spawn(spec.id.to_string()));
        }
        fn stop(&self, id: &WorkerId, _: Duration) {
            let _ = self.0.send(Call::Stop(id.to_string()));
        }
        fn terminate(&self, id: &WorkerId) {
            let _ = self.0.send(Call::Terminate(id.to_string()));
        }
        fn exit(&self, code: i32) {
            let _ = self.0.send(Call::Exit(code));
        }
    }

    struct Harness {
        events: mpsc::UnboundedSender<Event>,
        calls: mpsc::UnboundedReceiver<Call>,
        status: watch::Receiver<Arc<Status>>,
        routes: watch::Receiver<Arc<ReadyWorkers>>,
    }

    fn app(id: &str, workers: u32) -> AppConfig {
        AppConfig {
            id: id.into(),
            path: PathBuf::from("/apps").join(id),
            entry: PathBuf::from("/apps").join(id).join("index.js"),
            workers: NonZeroU32::new(workers).unwrap(),
            env: BTreeMap::new(),
            health: spindle_config::HealthConfig::default(),
            // As `standbyWorkers: 0`: the tests below count every start.
            faults: spindle_config::FaultConfig {
                standby_after_failure: false,
                ..Default::default()
            },
            scaling: spindle_config::AppScaling::fixed(NonZeroU32::new(workers).unwrap()),
            kind: spindle_config::AppKind::Node,
            exec_argv: Vec::new(),
            arguments: Vec::new(),
            start_timeout: spindle_config::DEFAULT_START_TIMEOUT,
            dependencies: Vec::new(),
        }
    }

    fn start(apps: Vec<AppConfig>) -> Harness {
        start_with(apps, spindle_config::ScalingConfig::default())
    }

    fn start_with(apps: Vec<AppConfig>, scaling: spindle_config::ScalingConfig) -> Harness {
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (routes_tx, routes) = watch::channel(Arc::new(ReadyWorkers::default()));
        let (status_tx, status) = watch::channel(Arc::new(Status {
            phase: Phase::Starting,
            apps: vec![],
        }));
        let parts = SupervisorParts {
            host: Arc::new(FakeHost(calls_tx)),
            rundir: PathBuf::from("/nonexistent-rundir"),
            mesh_listeners: crate::mesh::Listeners::default(),
            entrypoint: apps[0].id.clone(),
            apps,
            base_paths: HashMap::new(),
            log_level: "info",
            logs: LogSink::start(Format::Json, Box::new(std::io::sink())),
            worker_logs: WorkerLogs::default(),
            urls: Urls {
                ingress: "http://127.0.0.1:1".into(),
                admin: None,
            },
            application_grace: Duration::from_secs(1),
            queues: HashMap::new(),
            scaling,
        };
        let supervisor = Supervisor::new(parts, events_tx.clone(), routes_tx, status_tx);
        tokio::spawn(supervisor.run(events_rx));
        Harness {
            events: events_tx,
            calls,
            status,
            routes,
        }
    }

    impl Harness {
        async fn call(&mut self) -> Call {
            self.calls.recv().await.expect("supervisor alive")
        }

        /// The next `n` calls, sorted: for calls whose order between them does not matter.
        async fn calls(&mut self, n: usize) -> Vec<Call> {
            let mut calls = Vec::with_capacity(n);
            for _ in 0..n {
                calls.push(self.call().await);
            }
            calls.sort_by_key(|c| format!("{c:?}"));
            calls
        }

        fn send(&self, event: Event) {
            self.events.send(event).unwrap();
        }

        async fn wait_status(&mut self, what: impl Fn(&Status) -> bool) -> Arc<Status> {
            let status = self
                .status
                .wait_for(|s| what(s))
                .await
                .expect("supervisor alive");
            status.clone()
        }

        fn states(&self, app: &str) -> Vec<(String, WorkerState)> {
            let status = self.status.borrow();
            let app = status.apps.iter().find(|a| a.id == app).unwrap();
            app.workers
                .iter()
                .map(|w| (w.id.clone(), w.state))
                .collect()
        }
    }

    fn id(s: &str) -> WorkerId {
        s.parse().unwrap()
    }

    /// The worker's server listens (its link to the core is a test pipe).
    fn ready(worker: &str) -> Event {
        let pipe = Pipe::new(
            id(worker),
            Box::new(crate::datapath::pipe::testing::CountingWake::default()),
        );
        Event::Ready(id(worker), pipe)
    }

    #[tokio::test(start_paused = true)]
    async fn starts_the_configured_workers_and_routes_to_ready_ones() {
        let mut h = start(vec![app("web", 2), app("api", 1)]);
        let spawned = h.calls(3).await;
        assert_eq!(
            spawned,
            [
                Call::Spawn("api:0".into()),
                Call::Spawn("web:0".into()),
                Call::Spawn("web:1".into())
            ]
        );

        h.send(ready("web:1"));
        h.wait_status(|s| s.apps.iter().any(|a| a.ready_workers() == 1))
            .await;
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
        assert_eq!(
            h.status.borrow().phase,
            Phase::Starting,
            "api is not ready yet"
        );

        h.send(ready("api:0"));
        let status = h.wait_status(|s| s.phase == Phase::Running).await;
        assert_eq!(status.not_ready_reason(), None);
        assert_eq!(
            h.states("web"),
            [
                ("web:0".into(), WorkerState::Starting),
                ("web:1".into(), WorkerState::Ready)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_crashed_worker_is_replaced_at_once_with_a_fresh_id() {
        let mut h = start(vec![app("web", 1)]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        h.send(ready("web:0"));
        h.wait_status(|s| s.phase == Phase::Running).await;

        // Served long enough to count as a good start: no delay before the restart.
        tokio::time::advance(backoff::GOOD_START).await;
        h.send(Event::Exited {
            id: id("web:0"),
            code: 1,
            error: Some("boom".into()),
        });
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        let status = h
            .wait_status(|s| s.apps[0].workers.len() == 1 && s.apps[0].workers[0].id == "web:1")
            .await;
        assert_eq!(
            status.not_ready_reason().as_deref(),
            Some("no ready worker for app web")
        );
        assert_eq!(h.routes.borrow().ready_count("web"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_loop_backs_off() {
        let mut h = start(vec![app("web", 1)]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        // Fails at load, again and again: the first restart is immediate, then 100 ms, 200 ms.
        h.send(Event::Exited {
            id: id("web:0"),
            code: 1,
            error: None,
        });
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        for (n, delay_ms) in [(1u32, 100u64), (2, 200)] {
            let before = Instant::now();
            h.send(Event::Exited {
                id: WorkerId::new("web", n),
                code: 1,
                error: None,
            });
            assert_eq!(h.call().await, Call::Spawn(format!("web:{}", n + 1)));
            assert_eq!(before.elapsed(), Duration::from_millis(delay_ms));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_every_worker_and_does_not_restart_them() {
        let mut h = start(vec![app("web", 2)]);
        h.call().await;
        h.call().await;
        h.send(ready("web:0"));
        h.send(ready("web:1"));
        h.wait_status(|s| s.phase == Phase::Running).await;

        h.send(Event::BeginShutdown);
        let status = h.wait_status(|s| s.phase == Phase::ShuttingDown).await;
        assert_eq!(status.not_ready_reason().as_deref(), Some("shutting down"));
        assert_eq!(
            h.routes.borrow().ready_count("web"),
            2,
            "in-flight work still drains"
        );

        h.send(Event::StopWorkers {
            grace: Duration::from_secs(1),
        });
        let stopped = h.calls(2).await;
        assert_eq!(
            stopped,
            [Call::Stop("web:0".into()), Call::Stop("web:1".into())]
        );
        assert_eq!(h.routes.borrow().ready_count("web"), 0);
        assert!(h
            .states("web")
            .iter()
            .all(|(_, s)| *s == WorkerState::Draining));

        h.send(Event::Exited {
            id: id("web:0"),
            code: 0,
            error: None,
        });
        h.send(Event::Exited {
            id: id("web:1"),
            code: 1,
            error: None,
        });
        h.wait_status(|s| s.phase == Phase::Stopped).await;
        assert!(
            h.calls.try_recv().is_err(),
            "no worker restarted during shutdown"
        );
    }

    /// A loop whose counters the test sets: frozen counters look like a stuck loop.
    struct FakeLoop(std::sync::Mutex<crate::probe::LoopCounters>);

    impl crate::probe::LoopReader for Arc<FakeLoop> {
        fn read(&self) -> Option<crate::probe::LoopCounters> {
            Some(*self.0.lock().unwrap())
        }
    }

    fn attach_frozen_loop(h: &Harness, worker: &str) {
        let fake = Arc::new(FakeLoop(std::sync::Mutex::new(
            crate::probe::LoopCounters {
                idle_ns: 0,
                loop_count: 1,
            },
        )));
        h.send(Event::Attached(
            id(worker),
            Arc::new(Probe::new(Box::new(fake))),
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_worker_is_replaced_before_it_is_terminated() {
        let mut h = start(vec![app("web", 1)]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        attach_frozen_loop(&h, "web:0");
        h.send(ready("web:0"));
        let began = Instant::now();

        // The loop never turns: after maxStall the successor starts, and the stuck worker
        // leaves routing at once.
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        let detected = began.elapsed();
        let max_stall = spindle_config::DEFAULT_MAX_STALL;
        assert!(detected >= max_stall, "{detected:?}");
        assert!(
            detected <= max_stall + 2 * spindle_config::DEFAULT_SAMPLE_INTERVAL,
            "{detected:?}"
        );
        assert_eq!(h.routes.borrow().ready_count("web"), 0);
        assert_eq!(h.states("web")[0], ("web:0".into(), WorkerState::Draining));

        // Terminated as soon as the successor is Ready, not before.
        h.send(ready("web:1"));
        assert_eq!(h.call().await, Call::Terminate("web:0".into()));
        h.send(Event::Exited {
            id: id("web:0"),
            code: 1,
            error: None,
        });
        let status = h.wait_status(|s| s.apps[0].workers.len() == 1).await;
        assert_eq!(status.apps[0].workers[0].id, "web:1");
        assert_eq!(status.apps[0].workers[0].state, WorkerState::Ready);
        assert!(
            h.calls.try_recv().is_err(),
            "no restart for a worker that was retired"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rolling_restart_replaces_one_worker_at_a_time() {
        let mut h = start(vec![app("web", 2)]);
        h.call().await;
        h.call().await;
        h.send(ready("web:0"));
        h.send(ready("web:1"));
        h.wait_status(|s| s.phase == Phase::Running).await;

        h.send(Event::Restart(None));
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
        assert_eq!(
            h.routes.borrow().ready_count("web"),
            2,
            "both old workers serve meanwhile"
        );
        h.send(ready("web:2"));
        // The successor is Ready: its predecessor drains (nothing in flight) and stops,
        // and the next successor starts.
        let calls = h.calls(2).await;
        assert_eq!(
            calls,
            [Call::Spawn("web:3".into()), Call::Stop("web:0".into())]
        );
        h.send(Event::Exited {
            id: id("web:0"),
            code: 0,
            error: None,
        });
        h.send(ready("web:3"));
        assert_eq!(h.call().await, Call::Stop("web:1".into()));
        h.send(Event::Exited {
            id: id("web:1"),
            code: 0,
            error: None,
        });
        let status = h
            .wait_status(|s| s.apps[0].workers.len() == 2 && s.apps[0].ready_workers() == 2)
            .await;
        let ids: Vec<&str> = status.apps[0]
            .workers
            .iter()
            .map(|w| w.id.as_str())
            .collect();
        assert_eq!(ids, ["web:2", "web:3"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_loop_fails_the_app_and_stops_restarting() {
        let mut config = app("web", 1);
        config.faults.max_failed_starts = 3;
        let mut h = start(vec![config]);
        for n in 0..3 {
            assert_eq!(h.call().await, Call::Spawn(format!("web:{n}")));
            h.send(Event::Exited {
                id: WorkerId::new("web", n),
                code: 1,
                error: Some("Error: boom\n    at x".into()),
            });
        }
        let status = h.wait_status(|s| s.apps[0].failed.is_some()).await;
        assert_eq!(
            status.not_ready_reason().as_deref(),
            Some("app web failed: 3 workers in a row failed to start; last error: Error: boom")
        );
        // Well past the longest backoff: nothing more is started.
        tokio::time::sleep(backoff::MAX_DELAY * 2).await;
        assert!(h.calls.try_recv().is_err());

        // A restart gives it another chance.
        h.send(Event::Restart(Some("web".into())));
        assert_eq!(h.call().await, Call::Spawn("web:3".into()));
    }

    /// A loop that turns but never idles: event-loop utilization 1.0.
    struct BusyLoop(std::sync::atomic::AtomicU64);

    impl crate::probe::LoopReader for BusyLoop {
        fn read(&self) -> Option<crate::probe::LoopCounters> {
            let turns = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(crate::probe::LoopCounters {
                idle_ns: 0,
                loop_count: turns,
            })
        }
    }

    fn attach_busy_loop(h: &Harness, worker: &str) {
        let busy = BusyLoop(std::sync::atomic::AtomicU64::new(0));
        h.send(Event::Attached(
            id(worker),
            Arc::new(Probe::new(Box::new(busy))),
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_saturated_app_keeps_its_workers() {
        let mut h = start(vec![app("web", 2)]);
        h.call().await;
        h.call().await;
        for w in ["web:0", "web:1"] {
            attach_busy_loop(&h, w);
            h.send(ready(w));
        }
        // Grace (5 s) plus many 1 s checks at ELU 1.0 on both: load, so nobody goes.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(
            h.calls.try_recv().is_err(),
            "no replacement of a saturated app"
        );
        assert_eq!(h.routes.borrow().ready_count("web"), 2);
    }

    /// A loop that idles all the time: event-loop utilization 0.
    struct IdleLoop(std::sync::atomic::AtomicU64);

    impl crate::probe::LoopReader for IdleLoop {
        fn read(&self) -> Option<crate::probe::LoopCounters> {
            // More idle time than wall time passes between reads: clamped to ELU 0.
            let turns = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(crate::probe::LoopCounters {
                idle_ns: turns * 60_000_000_000,
                loop_count: turns,
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_busier_than_its_siblings_is_replaced_for_elu_one_at_a_time() {
        let mut h = start(vec![app("web", 3)]);
        for _ in 0..3 {
            h.call().await;
        }
        attach_busy_loop(&h, "web:0");
        attach_busy_loop(&h, "web:1");
        h.send(Event::Attached(
            id("web:2"),
            Arc::new(Probe::new(Box::new(IdleLoop(
                std::sync::atomic::AtomicU64::new(0),
            )))),
        ));
        for w in ["web:0", "web:1", "web:2"] {
            h.send(ready(w));
        }
        // Grace (5 s) plus five 1 s checks at ELU 1.0: one busy worker is replaced...
        assert_eq!(h.call().await, Call::Spawn("web:3".into()));
        assert_eq!(h.routes.borrow().ready_count("web"), 2);
        // ...and, while its successor is not Ready, the other stays.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(h.calls.try_recv().is_err());
        assert_eq!(h.routes.borrow().ready_count("web"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_serving_worker_is_not_replaced_for_elu() {
        let mut h = start(vec![app("web", 1)]);
        h.call().await;
        attach_busy_loop(&h, "web:0");
        h.send(ready("web:0"));
        h.wait_status(|s| s.phase == Phase::Running).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(
            h.calls.try_recv().is_err(),
            "busy is not stuck: the only worker stays"
        );
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn scaling_starts_workers_and_drains_the_newest_before_stopping_them() {
        let mut h = start(vec![app("web", 1)]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        h.send(ready("web:0"));
        h.send(Event::Scale {
            app: "web".into(),
            workers: NonZeroU32::new(3).unwrap(),
        });
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
        h.send(ready("web:1"));
        h.send(ready("web:2"));
        h.wait_status(|s| s.apps[0].ready_workers() == 3).await;

        h.send(Event::Scale {
            app: "web".into(),
            workers: NonZeroU32::new(1).unwrap(),
        });
        let status = h.wait_status(|s| s.apps[0].workers_wanted == 1).await;
        assert_eq!(
            status.apps[0]
                .workers
                .iter()
                .map(|w| w.state)
                .collect::<Vec<_>>(),
            [
                WorkerState::Ready,
                WorkerState::Draining,
                WorkerState::Draining
            ]
        );
        assert_eq!(
            h.routes.borrow().ready_count("web"),
            1,
            "draining workers get no new requests"
        );
        // Nothing in flight: the next health tick stops them.
        let stops = h.calls(2).await;
        assert_eq!(
            stops,
            [Call::Stop("web:1".into()), Call::Stop("web:2".into())]
        );
        h.send(Event::Exited {
            id: id("web:1"),
            code: 0,
            error: None,
        });
        h.send(Event::Exited {
            id: id("web:2"),
            code: 0,
            error: None,
        });
        let status = h.wait_status(|s| s.apps[0].workers.len() == 1).await;
        assert_eq!(
            status.apps[0].restarts.crash, 0,
            "a scale-down is not a crash"
        );
        assert!(h.calls.try_recv().is_err(), "nothing restarted");
    }

    #[tokio::test(start_paused = true)]
    async fn the_scaler_adds_a_worker_to_a_busy_dynamic_app_and_logs_why() {
        let mut config = app("web", 1);
        config.scaling = spindle_config::AppScaling {
            min: NonZeroU32::new(1).unwrap(),
            max: NonZeroU32::new(2).unwrap(),
            dynamic: true,
        };
        let scaling = spindle_config::ScalingConfig {
            dynamic: true,
            total: 2,
            grace_period: Duration::ZERO,
            cooldown: Duration::from_secs(5),
            ..spindle_config::ScalingConfig::default()
        };
        let mut h = start_with(vec![config], scaling);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        attach_busy_loop(&h, "web:0");
        h.send(ready("web:0"));
        let began = Instant::now();
        // ELU 1.0 ≥ 0.8: one more worker, at the first scaler tick with a full window.
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        assert!(
            began.elapsed() <= Duration::from_secs(3),
            "{:?}",
            began.elapsed()
        );
        let status = h.wait_status(|s| s.apps[0].workers_wanted == 2).await;
        assert_eq!(status.apps[0].scaled.up, 1);
        // At max: nothing more, however busy.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(h.calls.try_recv().is_err());
    }

    fn with_standby(mut config: AppConfig, standby: u32) -> AppConfig {
        config.faults.standby_workers = standby;
        config
    }

    /// Starts `web` with `workers` serving and one standby, all ready; returns the harness.
    async fn running_with_standby(workers: u32) -> Harness {
        let mut h = start(vec![with_standby(app("web", workers), 1)]);
        for n in 0..workers {
            assert_eq!(h.call().await, Call::Spawn(format!("web:{n}")));
        }
        for n in 0..workers {
            h.send(ready(&format!("web:{n}")));
        }
        assert_eq!(h.call().await, Call::Spawn(format!("web:{workers}")));
        h.send(ready(&format!("web:{workers}")));
        h.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .any(|w| w.state == WorkerState::Standby)
        })
        .await;
        h
    }

    #[tokio::test(start_paused = true)]
    async fn a_standby_worker_starts_once_the_serving_ones_are_ready_and_gets_no_requests() {
        let mut h = start(vec![with_standby(app("web", 2), 1)]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        h.send(ready("web:0"));
        h.wait_status(|s| s.phase == Phase::Running).await;
        assert!(
            h.calls.try_recv().is_err(),
            "no standby while a serving worker is still starting"
        );

        h.send(ready("web:1"));
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
        h.send(ready("web:2"));
        h.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .any(|w| w.state == WorkerState::Standby)
        })
        .await;
        assert_eq!(
            h.states("web"),
            [
                ("web:0".into(), WorkerState::Ready),
                ("web:1".into(), WorkerState::Ready),
                ("web:2".into(), WorkerState::Standby)
            ]
        );
        assert_eq!(h.routes.borrow().ready_count("web"), 2);
        assert_eq!(h.status.borrow().apps[0].ready_workers(), 2);
        assert!(h.calls.try_recv().is_err(), "one standby is enough");
    }

    #[tokio::test(start_paused = true)]
    async fn an_app_starts_once_every_worker_of_its_dependencies_is_ready() {
        let mut web = app("web", 1);
        web.dependencies = vec!["api".into()];
        let mut h = start(vec![app("api", 2), web]);
        assert_eq!(h.call().await, Call::Spawn("api:0".into()));
        assert_eq!(h.call().await, Call::Spawn("api:1".into()));
        assert!(h.calls.try_recv().is_err(), "web waits for api");
        h.send(ready("api:0"));
        h.wait_status(|s| {
            s.apps
                .iter()
                .any(|a| a.workers.iter().any(|w| w.state == WorkerState::Ready))
        })
        .await;
        assert!(
            h.calls.try_recv().is_err(),
            "one of api's two workers is not enough"
        );
        h.send(ready("api:1"));
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn an_app_whose_dependency_failed_starts_all_the_same() {
        let mut web = app("web", 1);
        web.dependencies = vec!["api".into()];
        let mut api = app("api", 1);
        api.faults.max_failed_starts = 1;
        let mut h = start(vec![api, web]);
        assert_eq!(h.call().await, Call::Spawn("api:0".into()));
        h.send(Event::Exited {
            id: id("api:0"),
            code: 1,
            error: Some("cannot load".into()),
        });
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn unset_standby_workers_means_one_standby_once_the_app_has_crashed() {
        let mut config = app("web", 1);
        config.faults.standby_after_failure = true;
        let mut h = start(vec![config]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        h.send(ready("web:0"));
        h.wait_status(|s| s.apps[0].workers[0].state == WorkerState::Ready)
            .await;
        assert!(h.calls.try_recv().is_err(), "no standby before a failure");

        h.send(Event::Exited {
            id: id("web:0"),
            code: 1,
            error: Some("boom".into()),
        });
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        h.send(ready("web:1"));
        // Ready again: from now on the app keeps one standby.
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
        h.send(ready("web:2"));
        h.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .any(|w| w.id == "web:2" && w.state == WorkerState::Standby)
        })
        .await;
        // The next crash is not a cold start.
        h.send(Event::Exited {
            id: id("web:1"),
            code: 1,
            error: Some("boom".into()),
        });
        h.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .any(|w| w.id == "web:2" && w.state == WorkerState::Ready)
        })
        .await;
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_promotes_the_standby_at_once_even_inside_a_crash_loop_delay() {
        let mut h = running_with_standby(1).await;
        h.send(Event::Exited {
            id: id("web:0"),
            code: 1,
            error: Some("boom".into()),
        });
        // The first crash restarts at once: the standby serves, a new standby starts.
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
        assert_eq!(
            h.states("web"),
            [
                ("web:1".into(), WorkerState::Ready),
                ("web:2".into(), WorkerState::Starting)
            ]
        );
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
        h.send(ready("web:2"));
        h.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .any(|w| w.state == WorkerState::Standby)
        })
        .await;

        // A second crash soon after is a crash loop: the next start waits. The loaded
        // standby serves at once all the same.
        h.send(Event::Exited {
            id: id("web:1"),
            code: 1,
            error: Some("boom".into()),
        });
        h.wait_status(|s| {
            s.apps[0].workers.len() == 1 && s.apps[0].workers[0].state == WorkerState::Ready
        })
        .await;
        assert_eq!(h.states("web"), [("web:2".into(), WorkerState::Ready)]);
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
        assert_eq!(h.status.borrow().apps[0].restarts.crash, 2);
        tokio::time::advance(backoff::FIRST_DELAY / 2).await;
        assert!(h.calls.try_recv().is_err(), "no start inside the delay");
        assert_eq!(h.call().await, Call::Spawn("web:3".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_while_the_standby_loads_promotes_it_to_serve_once_ready() {
        let mut h = start(vec![with_standby(app("web", 1), 1)]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        h.send(ready("web:0"));
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        tokio::time::advance(backoff::GOOD_START).await;
        h.send(Event::Exited {
            id: id("web:0"),
            code: 1,
            error: None,
        });
        // The loading standby fills the place; no cold start on top of it.
        h.wait_status(|s| s.apps[0].workers.len() == 1).await;
        h.send(ready("web:1"));
        h.wait_status(|s| s.apps[0].ready_workers() == 1).await;
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
        // With the place filled and nothing starting, a new standby follows.
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_worker_gives_way_to_the_standby_and_is_terminated_at_once() {
        let mut h = start(vec![with_standby(app("web", 1), 1)]);
        assert_eq!(h.call().await, Call::Spawn("web:0".into()));
        attach_frozen_loop(&h, "web:0");
        h.send(ready("web:0"));
        assert_eq!(h.call().await, Call::Spawn("web:1".into()));
        h.send(ready("web:1"));

        // No cold start to wait for: the stuck worker is ended as soon as it is found.
        assert_eq!(h.call().await, Call::Terminate("web:0".into()));
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
        assert_eq!(h.states("web")[1], ("web:1".into(), WorkerState::Ready));
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn scaling_up_promotes_the_standby_first() {
        let mut h = running_with_standby(1).await;
        h.send(Event::Scale {
            app: "web".into(),
            workers: NonZeroU32::new(2).unwrap(),
        });
        h.wait_status(|s| s.apps[0].ready_workers() == 2).await;
        assert_eq!(h.routes.borrow().ready_count("web"), 2);
        assert_eq!(h.call().await, Call::Spawn("web:2".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rolling_restart_replaces_the_standby_as_well() {
        let mut h = running_with_standby(1).await;
        h.send(Event::Restart(Some("web".into())));
        let calls = h.calls(2).await;
        // The successor starts, and the standby (old code) leaves.
        assert_eq!(
            calls,
            [Call::Spawn("web:2".into()), Call::Stop("web:1".into())]
        );
        h.send(Event::Exited {
            id: id("web:1"),
            code: 0,
            error: None,
        });
        h.send(ready("web:2"));
        let calls = h.calls(2).await;
        // A new standby (new code) once the successor serves; the old worker drains.
        assert_eq!(
            calls,
            [Call::Spawn("web:3".into()), Call::Stop("web:0".into())]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_exiting_unasked_leaves_routing_and_gives_way_to_the_standby_before_its_end() {
        let mut h = running_with_standby(2).await;
        h.send(Event::Exiting(id("web:0")));
        h.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .all(|w| w.state != WorkerState::Standby)
        })
        .await;
        let routes = h.routes.borrow().clone();
        assert_eq!(routes.ready_count("web"), 2, "web:1 and the promoted web:2");
        assert!(
            h.calls.try_recv().is_err(),
            "nothing starts before the thread has ended"
        );

        tokio::time::advance(backoff::GOOD_START).await;
        h.send(Event::Exited {
            id: id("web:0"),
            code: 1,
            error: None,
        });
        // Its end is still a crash (counted, logged), and a new standby follows.
        assert_eq!(h.call().await, Call::Spawn("web:3".into()));
        assert_eq!(h.status.borrow().apps[0].restarts.crash, 1);
        assert_eq!(h.routes.borrow().ready_count("web"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_exiting_after_being_asked_to_stop_changes_nothing() {
        let mut h = running_with_standby(1).await;
        h.send(Event::Scale {
            app: "web".into(),
            workers: NonZeroU32::new(1).unwrap(),
        });
        h.send(Event::StopWorkers {
            grace: Duration::from_secs(1),
        });
        let stops = h.calls(2).await;
        assert_eq!(
            stops,
            [Call::Stop("web:0".into()), Call::Stop("web:1".into())]
        );
        h.send(Event::Exiting(id("web:0")));
        h.send(Event::Exited {
            id: id("web:0"),
            code: 0,
            error: None,
        });
        h.wait_status(|s| s.apps[0].workers.len() == 1).await;
        assert_eq!(h.status.borrow().apps[0].restarts.crash, 0);
    }
}
