//! What a worker publishes about itself, on its own schedule, into memory the core reads:
//! its runtime figures (event-loop delay, GC, handles, heap spaces) every
//! [`RUNTIME_INTERVAL`], and its app's prom-client registry, as exposition text, every
//! [`APP_INTERVAL`]. Each publication is one synchronous call from the worker's thread that
//! swaps a pointer here; a scrape takes the latest under the same short lock and never
//! waits on JavaScript. A stuck worker stops publishing: its last figures stay visible,
//! with their age, and are marked stale after [`STALE_AFTER`].
//!
//! The worker's CPU time is not published: the core reads it from /proc by thread id,
//! so it keeps counting while the worker's loop is stuck.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How often a worker publishes its runtime figures.
pub const RUNTIME_INTERVAL: Duration = Duration::from_secs(1);
/// How often a worker publishes its app's registry: serialising a large registry is work
/// on the app's own thread, so less often than the runtime figures.
pub const APP_INTERVAL: Duration = Duration::from_secs(5);
/// A worker whose runtime figures are older than this (three missed publications) has a
/// loop that is not turning: its figures, and its app's, are marked stale.
pub const STALE_AFTER: Duration = Duration::from_secs(3);

/// prom-client's buckets for `nodejs_gc_duration_seconds`.
pub const GC_BUCKETS: [f64; 6] = [0.001, 0.01, 0.1, 1.0, 2.0, 5.0];

/// A worker's runtime figures, as its thread measured them (js/metrics.js writes this
/// shape). Times are in seconds, sizes in bytes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeReport {
    /// How late a `setImmediate` ran, measured at the last publication (prom-client's
    /// `nodejs_eventloop_lag_seconds`).
    pub lag: f64,
    /// The event-loop delay over the last interval (`monitorEventLoopDelay`), or None when
    /// the interval had no sample.
    pub delay: Option<Delay>,
    /// GC pauses since the worker started, by kind (`major`, `minor`, `incremental`,
    /// `weakcb`).
    pub gc: BTreeMap<String, GcPauses>,
    /// Active handles by constructor name (`process._getActiveHandles()`).
    pub handles: BTreeMap<String, u64>,
    /// Active requests by constructor name (`process._getActiveRequests()`).
    pub requests: BTreeMap<String, u64>,
    /// Active resources by type (`process.getActiveResourcesInfo()`).
    pub resources: BTreeMap<String, u64>,
    /// Memory of C++ objects bound to the worker's JavaScript objects.
    pub external: f64,
    /// V8's heap spaces (`v8.getHeapSpaceStatistics()`).
    pub spaces: Vec<HeapSpace>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcPauses {
    pub count: u64,
    pub sum: f64,
    /// Cumulative counts per bound of [`GC_BUCKETS`].
    pub buckets: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeapSpace {
    /// V8's space name without `_space` (`new`, `old`, `code`, …), as prom-client labels it.
    pub space: String,
    pub total: f64,
    pub used: f64,
    pub available: f64,
}

/// One worker's publications. Shared by its thread (writing) and the admin thread (reading).
pub struct WorkerFigures {
    created: Instant,
    runtime: Mutex<Option<(Instant, Arc<RuntimeReport>)>>,
    app: Mutex<Option<Arc<str>>>,
    /// The worker thread's Linux thread id, 0 once the thread is gone (or unknown).
    tid: AtomicU32,
    /// The thread's CPU seconds at an earlier read: `thread_cpu_percent_usage` is the rate
    /// since then.
    cpu_mark: Mutex<Option<(Instant, f64)>>,
}

/// What a scrape renders of one worker.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Since the last runtime publication (or since the worker attached, before the first).
    pub age: Duration,
    pub runtime: Option<Arc<RuntimeReport>>,
    /// The app's registry as prom-client wrote it.
    pub app: Option<Arc<str>>,
    pub cpu: Option<ThreadCpu>,
}

impl Figures {
    pub fn stale(&self) -> bool {
        self.age > STALE_AFTER
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadCpu {
    pub user: f64,
    pub system: f64,
    /// CPU use since the previous read at least a second earlier, in percent of one core.
    pub percent: Option<f64>,
}

impl std::fmt::Debug for WorkerFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerFigures")
    }
}

impl Default for WorkerFigures {
    fn default() -> Self {
        WorkerFigures::new()
    }
}

impl WorkerFigures {
    pub fn new() -> WorkerFigures {
        WorkerFigures {
            created: Instant::now(),
            runtime: Mutex::new(None),
            app: Mutex::new(None),
            tid: AtomicU32::new(0),
            cpu_mark: Mutex::new(None),
        }
    }

    /// The worker's runtime figures, as JSON (the shape of [`RuntimeReport`]).
    pub fn publish_runtime(&self, json: &str) -> Result<(), serde_json::Error> {
        let report: RuntimeReport = serde_json::from_str(json)?;
        self.publish_report(report, Instant::now());
        Ok(())
    }

    pub fn publish_report(&self, report: RuntimeReport, at: Instant) {
        *lock(&self.runtime) = Some((at, Arc::new(report)));
    }

    /// The app's registry in the Prometheus text format.
    pub fn publish_app(&self, text: &str) {
        *lock(&self.app) = Some(Arc::from(text));
    }

    /// The worker's thread, by Linux thread id; None once it is gone, so a reused id is
    /// never read as this worker's.
    pub fn set_thread(&self, tid: Option<u32>) {
        self.tid.store(tid.unwrap_or(0), Ordering::Relaxed);
        if let Some(cpu) = tid.and_then(super::process::thread_cpu) {
            *lock(&self.cpu_mark) = Some((Instant::now(), cpu.0 + cpu.1));
        }
    }

    /// The latest publications and the thread's CPU time, as of `now`.
    pub fn read(&self, now: Instant) -> Figures {
        let (at, runtime) = match &*lock(&self.runtime) {
            Some((at, report)) => (*at, Some(report.clone())),
            None => (self.created, None),
        };
        let tid = self.tid.load(Ordering::Relaxed);
        let cpu = (tid != 0)
            .then(|| super::process::thread_cpu(tid))
            .flatten()
            .map(|(user, system)| ThreadCpu {
                user,
                system,
                percent: self.percent(now, user + system),
            });
        Figures {
            age: now.saturating_duration_since(at),
            runtime,
            app: lock(&self.app).clone(),
            cpu,
        }
    }

    /// CPU use since the mark; the mark moves once it is a second old, so a scrape every
    /// 15 s gets the use over those 15 s, and two scrapes a moment apart get the same window.
    fn percent(&self, now: Instant, total: f64) -> Option<f64> {
        let mut mark = lock(&self.cpu_mark);
        let percent = (*mark).and_then(|(then, before)| {
            let secs = now.saturating_duration_since(then).as_secs_f64();
            (secs > 0.0).then(|| ((total - before).max(0.0) / secs) * 100.0)
        });
        if (*mark)
            .is_none_or(|(then, _)| now.saturating_duration_since(then) >= Duration::from_secs(1))
        {
            *mark = Some((now, total));
        }
        percent
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"{
        "lag": 0.002,
        "delay": {"min": 0.01, "max": 0.05, "mean": 0.011, "stddev": 0.001, "p50": 0.0101, "p90": 0.012, "p99": 0.03},
        "gc": {"minor": {"count": 3, "sum": 0.004, "buckets": [2, 3, 3, 3, 3, 3]}},
        "handles": {"Timeout": 1},
        "requests": {},
        "resources": {"TTYWrap": 2, "Timeout": 1},
        "external": 1024,
        "spaces": [{"space": "new", "total": 1048576, "used": 5000, "available": 1000}]
    }"#;

    #[test]
    fn a_report_is_read_from_the_workers_json() {
        let figures = WorkerFigures::new();
        figures.publish_runtime(REPORT).unwrap();
        let read = figures.read(Instant::now());
        let report = read.runtime.clone().unwrap();
        assert_eq!(report.gc["minor"].buckets, [2, 3, 3, 3, 3, 3]);
        assert_eq!(report.resources["TTYWrap"], 2);
        assert_eq!(report.spaces[0].space, "new");
        assert_eq!(report.delay.unwrap().p99, 0.03);
        assert!(!read.stale());
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let figures = WorkerFigures::new();
        let err = figures
            .publish_runtime(r#"{"lag": 0, "gc": {}, "handles": {}, "requests": {}, "resources": {}, "external": 0, "spaces": [], "delay": null, "extra": 1}"#)
            .unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
        assert!(figures.read(Instant::now()).runtime.is_none());
    }

    #[test]
    fn figures_age_from_their_publication_and_turn_stale() {
        let figures = WorkerFigures::new();
        let at = Instant::now();
        figures.publish_report(RuntimeReport::default(), at);
        figures.publish_app("# TYPE x_total counter\nx_total 1\n");
        let fresh = figures.read(at + Duration::from_secs(2));
        assert_eq!(fresh.age, Duration::from_secs(2));
        assert!(!fresh.stale());
        let stuck = figures.read(at + STALE_AFTER + Duration::from_millis(1));
        assert!(stuck.stale());
        assert_eq!(
            stuck.app.as_deref(),
            Some("# TYPE x_total counter\nx_total 1\n"),
            "a stuck worker's last app metrics stay"
        );
    }

    #[test]
    fn before_any_publication_the_age_counts_from_creation() {
        let figures = WorkerFigures::new();
        let read = figures.read(Instant::now() + Duration::from_secs(10));
        assert!(read.stale());
        assert!(read.runtime.is_none());
    }

    #[test]
    fn this_threads_cpu_is_read_from_proc() {
        let tid = super::super::process::current_tid().expect("/proc/thread-self");
        let figures = WorkerFigures::new();
        figures.set_thread(Some(tid));
        // Burn CPU until the counters move past one clock tick (bounded).
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_secs(5) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let (user, system) = super::super::process::thread_cpu(tid).unwrap();
            if user + system > 0.0 {
                break;
            }
        }
        let read = figures.read(Instant::now());
        let cpu = read.cpu.expect("thread cpu");
        assert!(cpu.user + cpu.system > 0.0, "{cpu:?}");
        assert!(cpu.percent.is_some());
        figures.set_thread(None);
        assert!(figures.read(Instant::now()).cpu.is_none());
    }
}
