//! Per-worker runtime families under prom-client's and Watt's names, from what each worker
//! last published ([`super::published`]) and its thread's CPU time read from /proc. Every
//! sample carries the app and worker labels; a worker that has published nothing yet has
//! only its age, its staleness and its CPU time.

use super::published::{Figures, RuntimeReport, GC_BUCKETS, STALE_AFTER};
use super::render::LabelNames;
use super::text::{Kind, Writer};

/// One worker as the runtime families see it.
pub struct WorkerView<'a> {
    pub app: &'a str,
    pub worker: &'a str,
    pub figures: &'a Figures,
}

pub fn write(w: &mut Writer, names: &LabelNames, workers: &[WorkerView<'_>]) {
    let reports = || {
        workers
            .iter()
            .filter_map(move |f| f.figures.runtime.as_deref().map(|r| (f, r)))
    };

    w.family(
        "spindle_worker_metrics_age_seconds",
        Kind::Gauge,
        "Seconds since the worker last published its runtime figures (it does every second while its event loop turns).",
    );
    for f in workers {
        w.sample("", &ids(names, f), f.figures.age.as_secs_f64());
    }
    w.family(
        "spindle_worker_metrics_stale",
        Kind::Gauge,
        &format!(
            "1 when the worker's published figures (runtime and app metrics) are older than {} s: its event loop is not turning and they are its last.",
            STALE_AFTER.as_secs()
        ),
    );
    for f in workers {
        w.sample(
            "",
            &ids(names, f),
            if f.figures.stale() { 1.0 } else { 0.0 },
        );
    }

    // A gauge with a sample for each worker that has published a report.
    let gauge = |w: &mut Writer, name: &str, help: &str, value: fn(&RuntimeReport) -> f64| {
        w.family(name, Kind::Gauge, help);
        for (f, r) in reports() {
            w.sample("", &ids(names, f), value(r));
        }
    };
    gauge(
        w,
        "nodejs_eventloop_lag_seconds",
        "Lag of event loop in seconds.",
        |r| r.lag,
    );
    type DelayField = fn(&super::published::Delay) -> f64;
    let delays: [(&str, &str, DelayField); 7] = [
        ("min", "minimum recorded", |d| d.min),
        ("max", "maximum recorded", |d| d.max),
        ("mean", "mean of the recorded", |d| d.mean),
        ("stddev", "standard deviation of the recorded", |d| d.stddev),
        ("p50", "50th percentile of the recorded", |d| d.p50),
        ("p90", "90th percentile of the recorded", |d| d.p90),
        ("p99", "99th percentile of the recorded", |d| d.p99),
    ];
    for (name, what, field) in delays {
        w.family(
            &format!("nodejs_eventloop_lag_{name}_seconds"),
            Kind::Gauge,
            &format!("The {what} event loop delays over the last second."),
        );
        for (f, r) in reports() {
            if let Some(d) = &r.delay {
                w.sample("", &ids(names, f), field(d));
            }
        }
    }

    w.family(
        "nodejs_gc_duration_seconds",
        Kind::Histogram,
        "Garbage collection duration by kind, one of major, minor, incremental or weakcb.",
    );
    for (f, r) in reports() {
        for (kind, gc) in &r.gc {
            let [a, b] = ids(names, f);
            for (le, n) in GC_BUCKETS.iter().zip(&gc.buckets) {
                let le = le.to_string();
                w.sample(
                    "_bucket",
                    &[a, b, ("kind", kind.as_str()), ("le", le.as_str())],
                    *n as f64,
                );
            }
            let kind = kind.as_str();
            w.sample(
                "_bucket",
                &[a, b, ("kind", kind), ("le", "+Inf")],
                gc.count as f64,
            );
            w.sample("_sum", &[a, b, ("kind", kind)], gc.sum);
            w.sample("_count", &[a, b, ("kind", kind)], gc.count as f64);
        }
    }

    type Active = fn(&RuntimeReport) -> &std::collections::BTreeMap<String, u64>;
    let active: [(&str, &str, &str, Active); 3] = [
        (
            "handles",
            "Number of active libuv handles grouped by handle type. Every handle type is C++ class name.",
            "Total number of active handles.",
            |r| &r.handles,
        ),
        (
            "requests",
            "Number of active libuv requests grouped by request type. Every request type is C++ class name.",
            "Total number of active requests.",
            |r| &r.requests,
        ),
        (
            "resources",
            "Number of active resources that are currently keeping the event loop alive, grouped by async resource type.",
            "Total number of active resources.",
            |r| &r.resources,
        ),
    ];
    for (name, help, total_help, field) in active {
        w.family(&format!("nodejs_active_{name}"), Kind::Gauge, help);
        for (f, r) in reports() {
            let [a, b] = ids(names, f);
            for (kind, n) in field(r) {
                w.sample("", &[a, b, ("type", kind.as_str())], *n as f64);
            }
        }
        // prom-client's name, which dashboards query: a gauge named like a counter. Declared
        // untyped (Prometheus stores and queries both alike), since a gauge or counter type
        // on it would be wrong and promtool flags a `_total` gauge.
        w.family(
            &format!("nodejs_active_{name}_total"),
            Kind::Untyped,
            total_help,
        );
        for (f, r) in reports() {
            w.sample("", &ids(names, f), field(r).values().sum::<u64>() as f64);
        }
    }

    gauge(
        w,
        "nodejs_external_memory_bytes",
        "Node.js external memory size in bytes.",
        |r| r.external,
    );
    type SpaceField = fn(&super::published::HeapSpace) -> f64;
    let spaces: [(&str, &str, SpaceField); 3] = [
        ("total", "Process heap space size total", |s| s.total),
        ("used", "Process heap space size used", |s| s.used),
        ("available", "Process heap space size available", |s| {
            s.available
        }),
    ];
    for (name, help, field) in spaces {
        w.family(
            &format!("nodejs_heap_space_size_{name}_bytes"),
            Kind::Gauge,
            &format!("{help} from Node.js in bytes."),
        );
        for (f, r) in reports() {
            let [a, b] = ids(names, f);
            for space in &r.spaces {
                w.sample("", &[a, b, ("space", space.space.as_str())], field(space));
            }
        }
    }

    // Watt's names (packages/metrics): `thread_cpu_user_system_seconds_total` holds the
    // user time only, as there.
    type CpuField = fn(&super::published::ThreadCpu) -> Option<f64>;
    let cpu: [(&str, Kind, &str, CpuField); 4] = [
        (
            "thread_cpu_user_system_seconds_total",
            Kind::Counter,
            "Total user CPU time spent in seconds for the current thread.",
            |c| Some(c.user),
        ),
        (
            "thread_cpu_system_seconds_total",
            Kind::Counter,
            "Total system CPU time spent in seconds for the current thread.",
            |c| Some(c.system),
        ),
        (
            "thread_cpu_seconds_total",
            Kind::Counter,
            "Total user and system CPU time spent in seconds for the current threads.",
            |c| Some(c.user + c.system),
        ),
        (
            "thread_cpu_percent_usage",
            Kind::Gauge,
            "The thread CPU percent usage.",
            |c| c.percent,
        ),
    ];
    for (name, kind, help, field) in cpu {
        w.family(name, kind, help);
        for f in workers {
            if let Some(value) = f.figures.cpu.as_ref().and_then(field) {
                w.sample("", &ids(names, f), value);
            }
        }
    }
}

/// The app and worker labels of `f`.
fn ids<'n>(names: &'n LabelNames, f: &WorkerView<'n>) -> [(&'n str, &'n str); 2] {
    [
        (names.app.as_str(), f.app),
        (names.worker.as_str(), f.worker),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::metrics::published::{Delay, GcPauses, HeapSpace, ThreadCpu};
    use crate::metrics::text::Format;

    fn report() -> RuntimeReport {
        RuntimeReport {
            lag: 0.002,
            delay: Some(Delay {
                min: 0.01,
                max: 0.05,
                mean: 0.011,
                stddev: 0.001,
                p50: 0.0101,
                p90: 0.012,
                p99: 0.03,
            }),
            gc: BTreeMap::from([(
                "minor".to_string(),
                GcPauses {
                    count: 3,
                    sum: 0.004,
                    buckets: vec![2, 3, 3, 3, 3, 3],
                },
            )]),
            handles: BTreeMap::from([("Timeout".to_string(), 2), ("Pipe".to_string(), 1)]),
            requests: BTreeMap::new(),
            resources: BTreeMap::from([("Timeout".to_string(), 2)]),
            external: 1024.0,
            spaces: vec![HeapSpace {
                space: "new".into(),
                total: 1048576.0,
                used: 5000.0,
                available: 1000.0,
            }],
        }
    }

    #[test]
    fn a_workers_report_becomes_prom_client_families() {
        let fresh = Figures {
            age: Duration::from_millis(400),
            runtime: Some(Arc::new(report())),
            app: None,
            cpu: Some(ThreadCpu {
                user: 1.5,
                system: 0.25,
                percent: Some(12.5),
            }),
        };
        let stuck = Figures {
            age: Duration::from_secs(9),
            ..Figures::default()
        };
        let mut w = Writer::new(Format::Prometheus, &[]);
        let names = LabelNames::watt();
        write(
            &mut w,
            &names,
            &[
                WorkerView {
                    app: "web",
                    worker: "web:0",
                    figures: &fresh,
                },
                WorkerView {
                    app: "web",
                    worker: "web:1",
                    figures: &stuck,
                },
            ],
        );
        let out = w.finish();
        let has =
            |line: &str| assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        let l = r#"applicationId="web",workerId="web:0""#;
        has(&format!("spindle_worker_metrics_age_seconds{{{l}}} 0.4"));
        has(&format!("spindle_worker_metrics_stale{{{l}}} 0"));
        has(r#"spindle_worker_metrics_stale{applicationId="web",workerId="web:1"} 1"#);
        has(&format!("nodejs_eventloop_lag_seconds{{{l}}} 0.002"));
        has(&format!("nodejs_eventloop_lag_p99_seconds{{{l}}} 0.03"));
        has(&format!(
            r#"nodejs_gc_duration_seconds_bucket{{{l},kind="minor",le="0.001"}} 2"#
        ));
        has(&format!(
            r#"nodejs_gc_duration_seconds_bucket{{{l},kind="minor",le="+Inf"}} 3"#
        ));
        has(&format!(
            r#"nodejs_gc_duration_seconds_count{{{l},kind="minor"}} 3"#
        ));
        has(&format!(r#"nodejs_active_handles{{{l},type="Timeout"}} 2"#));
        has(&format!("nodejs_active_handles_total{{{l}}} 3"));
        has(&format!("nodejs_active_requests_total{{{l}}} 0"));
        has(&format!("nodejs_external_memory_bytes{{{l}}} 1024"));
        has(&format!(
            r#"nodejs_heap_space_size_used_bytes{{{l},space="new"}} 5000"#
        ));
        has(&format!("thread_cpu_user_system_seconds_total{{{l}}} 1.5"));
        has(&format!("thread_cpu_seconds_total{{{l}}} 1.75"));
        has(&format!("thread_cpu_percent_usage{{{l}}} 12.5"));
        assert!(
            !out.contains(r#"nodejs_eventloop_lag_seconds{applicationId="web",workerId="web:1"}"#),
            "a worker that published nothing has no runtime figures: {out}"
        );
    }
}
