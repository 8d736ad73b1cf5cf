//! Every metric Spindle exposes, rendered from what the core already holds: the published
//! status, the ingress counters, /proc and what each worker last published. A scrape never
//! waits on a worker.

use std::collections::HashMap;

use super::histogram::{HistogramSnapshot, BUCKETS};
use super::http::HttpSnapshot;
use super::merge::{self, AppText};
use super::process::ProcessStats;
use super::published::Figures;
use super::runtime::{self, WorkerView};
use super::text::{Format, Kind, Writer};
use crate::status::Status;
use crate::WorkerState;

/// The names of the labels that carry the app's and the worker's id
/// (`metrics.applicationLabel`, `metrics.workerLabel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelNames {
    pub app: String,
    pub worker: String,
}

impl Default for LabelNames {
    fn default() -> Self {
        LabelNames {
            app: "app".into(),
            worker: "worker".into(),
        }
    }
}

#[cfg(test)]
impl LabelNames {
    /// Watt's names for the two labels, `applicationId` and `workerId`.
    pub(crate) fn watt() -> Self {
        LabelNames {
            app: "applicationId".into(),
            worker: "workerId".into(),
        }
    }
}

/// prom-client's default percentiles, which `http-metrics`' summaries use.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

pub struct Input<'a> {
    pub status: &'a Status,
    /// Per app, what its ingress counted.
    pub http: &'a [(String, HttpSnapshot)],
    pub process: &'a ProcessStats,
    /// `process.version` of the Node running the workers, e.g. "v20.20.2".
    pub node_version: Option<&'a str>,
    /// `metrics.labels`, added to every sample.
    pub labels: &'a [(String, String)],
    pub names: &'a LabelNames,
    /// What each worker last published, by worker id (`app:n`).
    pub figures: &'a HashMap<String, Figures>,
}

/// What each worker of `status` last published, as of `now`, by worker id: a pointer copy
/// under a short lock per worker (and its thread's CPU time from /proc), never a wait on it.
pub fn read_figures(status: &Status, now: std::time::Instant) -> HashMap<String, Figures> {
    status
        .figures
        .iter()
        .map(|(worker, figures)| (worker.clone(), figures.read(now)))
        .collect()
}

pub fn render(input: &Input<'_>, format: Format) -> String {
    let mut w = Writer::new(format, input.labels);
    let names = input.names;
    process(&mut w, input);
    apps(&mut w, names, input.status);
    workers(&mut w, names, input.status);
    let views: Vec<WorkerView<'_>> = input
        .status
        .apps
        .iter()
        .flat_map(|a| {
            a.workers
                .iter()
                .map(move |wk| (a.id.as_str(), wk.id.as_str()))
        })
        .filter_map(|(app, worker)| {
            input.figures.get(worker).map(|figures| WorkerView {
                app,
                worker,
                figures,
            })
        })
        .collect();
    runtime::write(&mut w, names, &views);
    http(&mut w, names, input.http);
    compatible_http(&mut w, names, input);
    // Last: an app family named like one of Spindle's is left out.
    let texts: Vec<AppText<'_>> = views
        .iter()
        .filter_map(|v| {
            v.figures.app.as_deref().map(|text| AppText {
                app: v.app,
                worker: v.worker,
                text,
            })
        })
        .collect();
    merge::write(&mut w, names, &texts);
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

fn apps(w: &mut Writer, names: &LabelNames, status: &Status) {
    let a = names.app.as_str();
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
            &[(a, &app.id)],
            if app.failed.is_some() { 1.0 } else { 0.0 },
        );
    }
    w.family(
        "spindle_workers",
        Kind::Gauge,
        "Workers of the app by state.",
    );
    for app in &status.apps {
        for state in WorkerState::KNOWN {
            let n = app.workers.iter().filter(|w| w.state == state).count();
            w.sample("", &[(a, &app.id), ("state", state.as_str())], n as f64);
        }
    }
    w.family(
        "spindle_worker_restarts_total",
        Kind::Counter,
        "Workers started to replace another, by reason.",
    );
    for app in &status.apps {
        for (reason, n) in app.restarts.by_reason() {
            w.sample("", &[(a, &app.id), ("reason", reason)], n as f64);
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
            &[(a, &app.id), ("direction", "up")],
            app.scaled.up as f64,
        );
        w.sample(
            "",
            &[(a, &app.id), ("direction", "down")],
            app.scaled.down as f64,
        );
    }
    w.family(
        "spindle_event_loop_stalls_total",
        Kind::Counter,
        "Times a worker's event loop was found stuck.",
    );
    for app in &status.apps {
        w.sample("", &[(a, &app.id)], app.stalls as f64);
    }
}

fn workers(w: &mut Writer, names: &LabelNames, status: &Status) {
    let (app_label, worker_label) = (names.app.as_str(), names.worker.as_str());
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
        w.sample(
            "",
            &[
                (app_label, app),
                (worker_label, &worker.id),
                ("state", worker.state.as_str()),
            ],
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
            &[(app_label, app), (worker_label, &worker.id)],
            worker.in_flight as f64,
        );
    }
    w.family("nodejs_eventloop_utilization", Kind::Gauge, "Event-loop utilization of the worker over the last sample (0-1), read from outside its thread.");
    for (app, worker) in all() {
        if let Some(elu) = worker.elu {
            w.sample("", &[(app_label, app), (worker_label, &worker.id)], elu);
        }
    }
    type HeapField = fn(&crate::status::Heap) -> u64;
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
                w.sample(
                    "",
                    &[(app_label, app), (worker_label, &worker.id)],
                    field(h) as f64,
                );
            }
        }
    }
}

fn http(w: &mut Writer, names: &LabelNames, http: &[(String, HttpSnapshot)]) {
    let a = names.app.as_str();
    w.family(
        "spindle_http_requests_total",
        Kind::Counter,
        "Requests answered at the ingress, by method and status class.",
    );
    for (app, s) in http {
        for (method, class, n) in s.requests_by_class() {
            w.sample(
                "",
                &[(a, app), ("method", method), ("code_class", class)],
                n as f64,
            );
        }
    }
    w.family(
        "spindle_http_request_duration_seconds",
        Kind::Histogram,
        "Time from a request's arrival at the ingress to its response head, by status class.",
    );
    for (app, s) in http {
        for (class, h) in s.latency_by_class() {
            histogram(w, &[(a, app), ("code_class", class)], &h);
        }
    }
    w.family(
        "spindle_http_rejected_requests_total",
        Kind::Counter,
        "Requests the ingress answered 503 itself, by reason.",
    );
    for (app, s) in http {
        for (reason, n) in &s.rejected {
            w.sample("", &[(a, app), ("reason", reason)], *n as f64);
        }
    }
    w.family(
        "spindle_http_retried_requests_total",
        Kind::Counter,
        "Requests sent again to another worker after the first died before answering.",
    );
    for (app, s) in http {
        w.sample("", &[(a, app)], s.retried as f64);
    }
}

/// The ingress' figures again under the names dashboards for prom-client's
/// `http-metrics` (and `fastify-metrics`) and for Watt query: per app, method and status
/// code, with the app's `server.routes` prefix as `route` when it has one. Cumulative, like
/// every Spindle counter; the summaries' quantiles are estimated from the histogram's
/// buckets over about the last minute (as a prom-client summary with `maxAgeSeconds`),
/// their `_sum` and `_count` cumulative.
fn compatible_http(w: &mut Writer, names: &LabelNames, input: &Input<'_>) {
    let a = names.app.as_str();
    let route = |app: &str| input.status.routes.get(app).map(String::as_str);
    let families = [
        (
            "http_request_duration_seconds",
            "http_request_summary_seconds",
            "request duration in seconds",
        ),
        (
            "http_request_all_duration_seconds",
            "http_request_all_summary_seconds",
            "request duration in seconds, for all requests (Watt's name)",
        ),
    ];
    for (histogram_name, summary_name, what) in families {
        w.family(
            histogram_name,
            Kind::Histogram,
            &format!("{what}: a histogram from the ingress, by method and status code."),
        );
        for (app, s) in input.http {
            for series in &s.series {
                let status = series.status.to_string();
                let labels = http_labels(a, app, series.method, &status, route(app));
                histogram(w, &labels, &series.latency);
            }
        }
        w.family(
            summary_name,
            Kind::Summary,
            &format!("{what}: a summary from the ingress, by method and status code; quantiles over the last minute."),
        );
        for (app, s) in input.http {
            for series in &s.series {
                let status = series.status.to_string();
                let labels = http_labels(a, app, series.method, &status, route(app));
                for q in QUANTILES {
                    let q_text = q.to_string();
                    let mut with_q = labels.clone();
                    with_q.push(("quantile", q_text.as_str()));
                    w.sample("", &with_q, series.recent.quantile(q));
                }
                w.sample("_sum", &labels, series.latency.sum_seconds);
                w.sample("_count", &labels, series.latency.count as f64);
            }
        }
    }
}

/// The labels of one HTTP series: app (under its configured name), method, status code,
/// and the app's route prefix when it has one.
fn http_labels<'a>(
    app_label: &'a str,
    app: &'a str,
    method: &'a str,
    status: &'a str,
    route: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut labels = vec![
        (app_label, app),
        ("method", method),
        ("status_code", status),
    ];
    labels.extend(route.map(|route| ("route", route)));
    labels
}

/// A histogram's samples: the buckets, +Inf, sum and count.
fn histogram(w: &mut Writer, labels: &[(&str, &str)], h: &HistogramSnapshot) {
    let bounds: Vec<String> = BUCKETS.iter().map(|le| le.to_string()).collect();
    let mut with_le = labels.to_vec();
    with_le.push(("le", ""));
    let last = with_le.len() - 1;
    for (le, n) in bounds.iter().zip(&h.cumulative) {
        with_le[last].1 = le;
        w.sample("_bucket", &with_le, *n as f64);
    }
    with_le[last].1 = "+Inf";
    w.sample("_bucket", &with_le, h.count as f64);
    w.sample("_sum", labels, h.sum_seconds);
    w.sample("_count", labels, h.count as f64);
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
