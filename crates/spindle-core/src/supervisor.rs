//! The one owner of the worker table. Everything that changes a worker's state arrives
//! here as an [`Event`]; the supervisor decides, asks the thread factory, and publishes
//! [`Routes`] for the data path and [`Status`] for everyone else.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_config::AppConfig;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::backoff;
use crate::endpoint::Endpoint;
use crate::host::{WorkerHost, WorkerSpec};
use crate::logs::{LogSink, WorkerLog};
use crate::routes::Routes;
use crate::status::{AppStatus, Status, WorkerStatus};
use crate::{Phase, WorkerId, WorkerState};

#[derive(Debug)]
pub enum Event {
    /// The worker's server listens on its socket (or its app has no server and loaded).
    Ready(WorkerId),
    /// The worker thread ended. `error` is the uncaught error or load failure, if any.
    Exited {
        id: WorkerId,
        code: i32,
        error: Option<String>,
    },
    /// Time to start a replacement for a crashed worker of `app`.
    Respawn(Arc<str>),
    /// Stop routing-independent work: readiness goes false.
    BeginShutdown,
    /// Stop every worker; the phase becomes Stopped when the last one has exited.
    StopWorkers { grace: Duration },
}

/// Log sinks of live workers, looked up by the addon when a worker thread attaches.
pub type WorkerLogs = Arc<Mutex<HashMap<WorkerId, Arc<WorkerLog>>>>;

struct WorkerEntry {
    state: WorkerState,
    started: Instant,
    socket: PathBuf,
    endpoint: Option<Arc<Endpoint>>,
}

struct AppEntry {
    config: AppConfig,
    entrypoint: bool,
    next_n: u32,
    /// Crashes in a row soon after start; sets the restart delay.
    streak: u32,
    /// A restart is scheduled and not yet started.
    respawn_pending: bool,
    workers: BTreeMap<u32, WorkerEntry>,
}

pub struct Supervisor {
    host: Arc<dyn WorkerHost>,
    rundir: PathBuf,
    apps: BTreeMap<Arc<str>, AppEntry>,
    phase: Phase,
    events: mpsc::UnboundedSender<Event>,
    routes: watch::Sender<Arc<Routes>>,
    status: watch::Sender<Arc<Status>>,
    logs: LogSink,
    worker_logs: WorkerLogs,
    /// Where the server listens, logged once when every app first has a Ready worker.
    urls: Urls,
    announced: bool,
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
    pub apps: Vec<AppConfig>,
    pub entrypoint: String,
    pub logs: LogSink,
    pub worker_logs: WorkerLogs,
    pub urls: Urls,
}

impl Supervisor {
    pub fn new(
        parts: SupervisorParts,
        events: mpsc::UnboundedSender<Event>,
        routes: watch::Sender<Arc<Routes>>,
        status: watch::Sender<Arc<Status>>,
    ) -> Supervisor {
        let apps = parts
            .apps
            .into_iter()
            .map(|config| {
                let id: Arc<str> = config.id.as_str().into();
                let entry = AppEntry {
                    entrypoint: config.id == parts.entrypoint,
                    config,
                    next_n: 0,
                    streak: 0,
                    respawn_pending: false,
                    workers: BTreeMap::new(),
                };
                (id, entry)
            })
            .collect();
        Supervisor {
            host: parts.host,
            rundir: parts.rundir,
            apps,
            phase: Phase::Starting,
            events,
            routes,
            status,
            logs: parts.logs,
            worker_logs: parts.worker_logs,
            urls: parts.urls,
            announced: false,
        }
    }

    /// Starts every app's workers, then handles events until every worker is gone after
    /// a shutdown.
    pub async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let apps: Vec<Arc<str>> = self.apps.keys().cloned().collect();
        for app in apps {
            let count = self.apps[&app].config.workers.get();
            for _ in 0..count {
                self.spawn(&app);
            }
        }
        self.publish();
        while let Some(event) = events.recv().await {
            self.handle(event);
            self.publish();
            if self.phase == Phase::Stopped {
                break;
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Ready(id) => self.on_ready(id),
            Event::Exited { id, code, error } => self.on_exited(id, code, error),
            Event::Respawn(app) => {
                if let Some(entry) = self.apps.get_mut(&app) {
                    entry.respawn_pending = false;
                }
                if self.phase != Phase::ShuttingDown {
                    self.fill(&app);
                }
            }
            Event::BeginShutdown => {
                self.phase = Phase::ShuttingDown;
                tracing::info!("shutting down: readiness is false, no new connections");
            }
            Event::StopWorkers { grace } => self.stop_all(grace),
        }
    }

    fn spawn(&mut self, app: &Arc<str>) {
        let entry = self.apps.get_mut(app).expect("spawn for a known app");
        let n = entry.next_n;
        entry.next_n += 1;
        let id = WorkerId::new(app.clone(), n);
        let socket = self.rundir.join(format!("{app}-{n}.sock"));
        let spec = WorkerSpec {
            id: id.clone(),
            app: app.to_string(),
            dir: entry.config.path.clone(),
            entry: entry.config.entry.clone(),
            socket: socket.clone(),
            env: entry.config.env.clone(),
        };
        entry.workers.insert(
            n,
            WorkerEntry {
                state: WorkerState::Starting,
                started: Instant::now(),
                socket,
                endpoint: None,
            },
        );
        let log = Arc::new(self.logs.worker(app, &id.to_string()));
        self.worker_logs
            .lock()
            .expect("worker log table")
            .insert(id.clone(), log);
        tracing::debug!(worker = %id, entry = %spec.entry.display(), "starting worker");
        self.host.spawn(&spec);
    }

    /// Starts workers until `app` has as many alive as configured.
    fn fill(&mut self, app: &Arc<str>) {
        let Some(entry) = self.apps.get(app) else {
            return;
        };
        let alive = entry
            .workers
            .values()
            .filter(|w| w.state.is_alive())
            .count();
        let wanted = entry.config.workers.get() as usize;
        for _ in alive..wanted {
            self.spawn(app);
        }
    }

    fn on_ready(&mut self, id: WorkerId) {
        let Some(worker) = self.worker_mut(&id) else {
            return;
        };
        if worker.state != WorkerState::Starting {
            return;
        }
        worker.state = WorkerState::Ready;
        worker.endpoint = Some(Endpoint::new(id.clone(), worker.socket.clone()));
        let lived = worker.started.elapsed();
        if self.phase == Phase::Starting && self.all_apps_ready() {
            self.phase = Phase::Running;
        }
        // Routable before anyone reads the log line that says so.
        self.publish();
        tracing::info!(worker = %id, startup_ms = lived.as_millis() as u64, "worker ready");
        if self.phase == Phase::Running && !self.announced {
            self.announced = true;
            self.announce_ready();
        }
    }

    fn on_exited(&mut self, id: WorkerId, code: i32, error: Option<String>) {
        let phase = self.phase;
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
        let asked_to_stop = matches!(worker.state, WorkerState::Draining | WorkerState::Stopped);
        worker.endpoint = None;
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
            if phase != Phase::ShuttingDown && phase != Phase::Stopped {
                let delay = backoff::restart_delay(entry.streak);
                entry.streak = backoff::next_streak(entry.streak, lived);
                if !entry.respawn_pending {
                    entry.respawn_pending = true;
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
            }
        }
        // Forget finished workers, keeping the table small across many restarts.
        entry.workers.retain(|_, w| w.state.is_alive());
        if phase == Phase::ShuttingDown && self.apps.values().all(|a| a.workers.is_empty()) {
            self.phase = Phase::Stopped;
        }
    }

    fn stop_all(&mut self, grace: Duration) {
        for entry in self.apps.values_mut() {
            for (n, worker) in entry.workers.iter_mut() {
                if worker.state.is_alive() {
                    worker.state = WorkerState::Draining;
                    worker.endpoint = None;
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
                .filter_map(|w| w.endpoint.clone())
                .collect();
            routes.insert(id.clone(), ready);
            apps.push(AppStatus {
                id: id.to_string(),
                entrypoint: entry.entrypoint,
                workers: entry
                    .workers
                    .iter()
                    .map(|(n, w)| WorkerStatus {
                        id: format!("{id}:{n}"),
                        state: w.state,
                    })
                    .collect(),
            });
        }
        self.routes.send_replace(Arc::new(Routes::new(routes)));
        self.status.send_replace(Arc::new(Status {
            phase: self.phase,
            apps,
        }));
    }
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
        fn terminate(&self, _: &WorkerId) {}
        fn exit(&self, code: i32) {
            let _ = self.0.send(Call::Exit(code));
        }
    }

    struct Harness {
        events: mpsc::UnboundedSender<Event>,
        calls: mpsc::UnboundedReceiver<Call>,
        status: watch::Receiver<Arc<Status>>,
        routes: watch::Receiver<Arc<Routes>>,
    }

    fn app(id: &str, workers: u32) -> AppConfig {
        AppConfig {
            id: id.into(),
            path: PathBuf::from("/apps").join(id),
            entry: PathBuf::from("/apps").join(id).join("index.js"),
            workers: NonZeroU32::new(workers).unwrap(),
            env: BTreeMap::new(),
        }
    }

    fn start(apps: Vec<AppConfig>) -> Harness {
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (routes_tx, routes) = watch::channel(Arc::new(Routes::default()));
        let (status_tx, status) = watch::channel(Arc::new(Status {
            phase: Phase::Starting,
            apps: vec![],
        }));
        let parts = SupervisorParts {
            host: Arc::new(FakeHost(calls_tx)),
            rundir: PathBuf::from("/nonexistent-rundir"),
            entrypoint: apps[0].id.clone(),
            apps,
            logs: LogSink::start(Format::Json, Box::new(std::io::sink())),
            worker_logs: WorkerLogs::default(),
            urls: Urls {
                ingress: "http://127.0.0.1:1".into(),
                admin: None,
            },
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

    #[tokio::test(start_paused = true)]
    async fn starts_the_configured_workers_and_routes_to_ready_ones() {
        let mut h = start(vec![app("web", 2), app("api", 1)]);
        let mut spawned = vec![];
        for _ in 0..3 {
            spawned.push(h.call().await);
        }
        spawned.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(
            spawned,
            [
                Call::Spawn("api:0".into()),
                Call::Spawn("web:0".into()),
                Call::Spawn("web:1".into())
            ]
        );

        h.send(Event::Ready(id("web:1")));
        h.wait_status(|s| s.apps.iter().any(|a| a.ready_workers() == 1))
            .await;
        assert_eq!(h.routes.borrow().ready_count("web"), 1);
        assert_eq!(
            h.status.borrow().phase,
            Phase::Starting,
            "api is not ready yet"
        );

        h.send(Event::Ready(id("api:0")));
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
        h.send(Event::Ready(id("web:0")));
        h.wait_status(|s| s.phase == Phase::Running).await;

        // Lived long enough to count as healthy: no delay before the restart.
        tokio::time::advance(backoff::HEALTHY_AFTER).await;
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
        h.send(Event::Ready(id("web:0")));
        h.send(Event::Ready(id("web:1")));
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
        let mut stopped = vec![h.call().await, h.call().await];
        stopped.sort_by_key(|c| format!("{c:?}"));
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
}
