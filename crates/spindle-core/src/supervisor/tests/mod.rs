//! The supervisor driven through its events, with a fake thread factory and paused time.

mod crash;
mod health;
mod restart;
mod scaling;
mod standby;
mod startup;

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use spindle_config::AppConfig;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Event, Supervisor, SupervisorParts, Urls, WorkerLogs};
use crate::backoff;
use crate::datapath::pipe::Pipe;
use crate::datapath::ready::ReadyWorkers;
use crate::host::{WorkerHost, WorkerSpec};
use crate::logs::{Format, LogSink};
use crate::probe::Probe;
use crate::status::Status;
use crate::{Phase, WorkerId, WorkerState};

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

/// Starts `web` with `workers` workers, all ready.
async fn running(workers: u32) -> Harness {
    let mut h = start(vec![app("web", workers)]);
    for _ in 0..workers {
        h.call().await;
    }
    for n in 0..workers {
        h.send(ready(&format!("web:{n}")));
    }
    h.wait_status(|s| s.phase == Phase::Running).await;
    h
}

fn start(apps: Vec<AppConfig>) -> Harness {
    start_with(apps, spindle_config::ScalingConfig::default())
}

fn start_with(apps: Vec<AppConfig>, scaling: spindle_config::ScalingConfig) -> Harness {
    let (calls_tx, calls) = mpsc::unbounded_channel();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (routes_tx, routes) = watch::channel(Arc::new(ReadyWorkers::default()));
    let (status_tx, status) = watch::channel(Arc::new(Status::new(Phase::Starting, vec![])));
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

    /// Waits until a worker of the first app is a loaded standby.
    async fn wait_for_standby(&mut self) {
        self.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .any(|w| w.state == WorkerState::Standby)
        })
        .await;
    }

    /// Waits until `worker` (of the first app) is in `state`.
    async fn wait_state(&mut self, worker: &str, state: WorkerState) {
        self.wait_status(|s| {
            s.apps[0]
                .workers
                .iter()
                .any(|w| w.id == worker && w.state == state)
        })
        .await;
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

/// The host is asked to start `worker`'s thread.
fn spawn(worker: &str) -> Call {
    Call::Spawn(worker.into())
}

/// The host is asked to stop `worker` cooperatively.
fn stop(worker: &str) -> Call {
    Call::Stop(worker.into())
}

/// The host is asked to end `worker`'s thread now.
fn terminate(worker: &str) -> Call {
    Call::Terminate(worker.into())
}

fn id(s: &str) -> WorkerId {
    s.parse().unwrap()
}

/// The worker's thread ended with `code`, with no uncaught error.
fn exited(worker: &str, code: i32) -> Event {
    Event::Exited {
        id: id(worker),
        code,
        error: None,
    }
}

/// The worker's thread ended with an uncaught `error`.
fn crashed(worker: &str, error: &str) -> Event {
    Event::Exited {
        id: id(worker),
        code: 1,
        error: Some(error.into()),
    }
}

/// Run `workers` workers of `web` from now on.
fn scale_web(workers: u32) -> Event {
    Event::Scale {
        app: "web".into(),
        workers: NonZeroU32::new(workers).unwrap(),
    }
}

/// Stop every worker, each with a second to finish.
fn stop_workers() -> Event {
    Event::StopWorkers {
        grace: Duration::from_secs(1),
    }
}

/// The worker's server listens (its link to the core is a test pipe).
fn ready(worker: &str) -> Event {
    let pipe = Pipe::new(
        id(worker),
        Box::new(crate::datapath::pipe::testing::CountingWake::default()),
    );
    Event::Ready(id(worker), pipe)
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
    attach(h, worker, fake);
}

/// The worker thread connected: its loop is read through `reader`.
fn attach(h: &Harness, worker: &str, reader: impl crate::probe::LoopReader + 'static) {
    h.send(Event::Attached(
        id(worker),
        Arc::new(Probe::new(Box::new(reader))),
    ));
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
    attach(h, worker, BusyLoop(std::sync::atomic::AtomicU64::new(0)));
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
