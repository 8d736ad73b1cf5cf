//! Every metric Spindle exposes, rendered from what the core already holds: the published
//! status, the ingress counters and /proc. A scrape never waits on a worker.

use super::histogram::BUCKETS;
use super::http::HttpSnapshot;
use super::process::ProcessStats;
use super::text::{Format, Kind, Writer};
use crate::status::Status;
use crate::WorkerState;

pub struct Input<'a> {
    pub status: &'a Status,
    /// Per app, what its ingress counted.
    pub http: &'a [(String, HttpSnapshot)],
    pub process: &'a ProcessStats,
    /// `process.version` of the Node running the workers, e.g. "v20.20.2".
    pub node_version: Option<&'a str>,
    /// `metrics.labels`, added to every sample.
    pub labels: &'a [(String, String)],
}

const STATES: [(WorkerState, &str); 6] = [
    (WorkerState::Starting, "starting"),
    (WorkerState::Ready, "ready"),
    (WorkerState::Standby, "standby"),
    (WorkerState::Draining, "draining"),
    (WorkerState::Stopped, "stopped"),
    (WorkerState::Crashed, "crashed"),
];

pub fn render(input: &Input<'_>, format: Format) -> String {
    let mut w = Writer::new(format, input.labels);
    process(&mut w, input);
    apps(&mut w, input.status);
    workers(&mut w, input.status);
    http(&mut w, input.http);
    w.finish()
}

fn process(w: &mut Writer, input: &Input<'_>) {
    let p = input.process;
    w.family("spindle_build_info", Kind::Info, "Spindle's version.");
    w.sample("", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    if let Some(version) = input.node_version {
        let mut parts = version.trim_start_matches('v').split('.');
        let (major, minor, patch) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        w.family("nodejs_version_info", Kind::Info, "Node.js version.");
        w.sample(
            "",
            &[
                ("version", version),
                ("major", major),
                ("minor", minor),
                ("patch", patch),
            ],
            1.0,
        );
    }
    w.family(
        "process_cpu_user_seconds_total",
        Kind::Counter,
        "User CPU time spent in seconds.",
    );
    w.sample("", &[], p.cpu_user_seconds);
    w.family(
        "process_cpu_system_seconds_total",
        Kind::Counter,
        "System CPU time spent in seconds.",
    );
    w.sample("", &[], p.cpu_system_seconds);
    w.family(
        "process_cpu_seconds_total",
        Kind::Counter,
        "Total user and system CPU time spent in seconds.",
    );
    w.sample("", &[], p.cpu_user_seconds + p.cpu_system_seconds);
    w.family(
        "process_resident_memory_bytes",
        Kind::Gauge,
        "Resident memory size in bytes.",
    );
    w.sample("", &[], p.resident_memory_bytes as f64);
    w.family(
        "process_virtual_memory_bytes",
        Kind::Gauge,
        "Virtual memory size in bytes.",
    );
    w.sample("", &[], p.virtual_memory_bytes as f64);
    w.family(
        "process_open_fds",
        Kind::Gauge,
        "Number of open file descriptors.",
    );
    w.sample("", &[], p.open_fds as f64);
    if let Some(max) = p.max_fds {
        w.family(
            "process_max_fds",
            Kind::Gauge,
            "Maximum number of open file descriptors.",
        );
        w.sample("", &[], max as f64);
    }
    w.family(
        "process_start_time_seconds",
        Kind::Gauge,
        "Start time of the process since unix epoch in seconds.",
    );
    w.sample("", &[], p.start_time_seconds);
    w.family(
        "process_threads",
        Kind::Gauge,
        "Number of OS threads in the process.",
    );
    w.sample("", &[], p.threads as f64);
}

fn apps(w: &mut Writer, status: &Status) {
    w.family(
        "spindle_ready",
        Kind::Gauge,
        "1 when every app has a ready worker and the server is not shutting down.",
    );
    w.sample(
        "",
        &[],
        if status.not_ready_reason().is_none() {
            1.0
        } else {
            0.0
        },
    );
    w.family(
        "spindle_app_failed",
        Kind::Gauge,
        "1 when the app gave up restarting its workers.",
    );
    for app in &status.apps {
        w.sample(
            "",
            &[("app", &app.id)],
            if app.failed.is_some() { 1.0 } else { 0.0 },
        );
    }
    w.family(
        "spindle_workers",
        Kind::Gauge,
        "Workers of the app by state.",
    );
    for app in &status.apps {
        for (state, name) in STATES {
            let n = app.workers.iter().filter(|w| w.state == state).count();
            w.sample("", &[("app", &app.id), ("state", name)], n as f64);
        }
    }
    w.family(
        "spindle_worker_restarts_total",
        Kind::Counter,
        "Workers started to replace another, by reason.",
    );
    for app in &status.apps {
        for (reason, n) in app.restarts.by_reason() {
            w.sample("", &[("app", &app.id), ("reason", reason)], n as f64);
        }
    }
    w.family(
        "spindle_scaler_decisions_total",
        Kind::Counter,
        "Worker-count changes the scaler made, by direction.",
    );
    for app in &status.apps {
        w.sample(
            "",
            &[("app", &app.id), ("direction", "up")],
            app.scaled.up as f64,
        );
        w.sample(
            "",
            &[("app", &app.id), ("direction", "down")],
            app.scaled.down as f64,
        );
    }
    w.family(
        "spindle_event_loop_stalls_total",
        Kind::Counter,
        "Times a worker's event loop was found stuck.",
    );
    for app in &status.apps {
        w.sample("", &[("app", &app.id)], app.stalls as f64);
    }
}

fn workers(w: &mut Writer, status: &Status) {
    let all = || {
        status
            .apps
            .iter()
            .flat_map(|a| a.workers.iter().map(move |w| (a.id.as_str(), w)))
    };
    w.family(
        "spindle_worker_state",
        Kind::Gauge,
        "1 for the worker's current state.",
    );
    for (app, worker) in all() {
        let state = STATES
            .iter()
            .find(|(s, _)| *s == worker.state)
            .map_or("unknown", |(_, n)| n);
        w.sample(
            "",
            &[("app", app), ("worker", &worker.id), ("state", state)],
            1.0,
        );
    }
    w.family(
        "spindle_worker_requests_in_flight",
        Kind::Gauge,
        "Requests sent to the worker and not finished.",
    );
    for (app, worker) in all() {
        w.sample(
            "",
            &[("app", app), ("worker", &worker.id)],
            worker.in_flight as f64,
        );
    }
    w.family("nodejs_eventloop_utilization", Kind::Gauge, "Event-loop utilization of the worker over the last sample (0-1), read from outside its thread.");
    for (app, worker) in all() {
        if let Some(elu) = worker.elu {
            w.sample("", &[("app", app), ("worker", &worker.id)], elu);
        }
    }
    type HeapField = fn(&crate::status::HeapStatus) -> u64;
    let heap: [(&str, &str, HeapField); 3] = [
        (
            "nodejs_heap_size_used_bytes",
            "V8 heap used by the worker in bytes.",
            |h| h.used,
        ),
        (
            "nodejs_heap_size_total_bytes",
            "V8 heap reserved by the worker in bytes.",
            |h| h.total,
        ),
        (
            "nodejs_heap_size_limit_bytes",
            "V8 heap limit of the worker in bytes.",
            |h| h.limit,
        ),
    ];
    for (name, help, field) in heap {
        w.family(name, Kind::Gauge, help);
        for (app, worker) in all() {
            if let Some(h) = &worker.heap {
                w.sample("", &[("app", app), ("worker", &worker.id)], field(h) as f64);
            }
        }
    }
}

fn http(w: &mut Writer, http: &[(String, HttpSnapshot)]) {
    w.family(
        "spindle_http_requests_total",
        Kind::Counter,
        "Requests answered at the ingress, by method and status class.",
    );
    for (app, s) in http {
        for (method, class, n) in &s.requests {
            w.sample(
                "",
                &[("app", app), ("method", method), ("code_class", class)],
                *n as f64,
            );
        }
    }
    w.family(
        "spindle_http_request_duration_seconds",
        Kind::Histogram,
        "Time from a request's arrival at the ingress to its response head, by status class.",
    );
    for (app, s) in http {
        for (class, h) in &s.latency {
            for (le, n) in BUCKETS.iter().zip(&h.cumulative) {
                w.sample(
                    "_bucket",
                    &[("app", app), ("code_class", class), ("le", &le.to_string())],
                    *n as f64,
                );
            }
            w.sample(
                "_bucket",
                &[("app", app), ("code_class", class), ("le", "+Inf")],
                h.count as f64,
            );
            w.sample(
                "_sum",
                &[("app", app), ("code_class", class)],
                h.sum_seconds,
            );
            w.sample(
                "_count",
                &[("app", app), ("code_class", class)],
                h.count as f64,
            );
        }
    }
    w.family(
        "spindle_http_rejected_requests_total",
        Kind::Counter,
        "Requests the ingress answered 503 itself, by reason.",
    );
    for (app, s) in http {
        for (reason, n) in &s.rejected {
            w.sample("", &[("app", app), ("reason", reason)], *n as f64);
        }
    }
    w.family(
        "spindle_http_retried_requests_total",
        Kind::Counter,
        "Requests sent again to another worker after the first died before answering.",
    );
    for (app, s) in http {
        w.sample("", &[("app", app)], s.retried as f64);
    }
}
