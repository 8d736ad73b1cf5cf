//! A scrape rendered from a one-worker status: the HTTP families, the route label and the
//! configured names of the app and worker labels.

use std::time::Duration;

use super::*;
use crate::metrics::http::HttpMetrics;
use crate::status::{AppStatus, Restarts, ScalerDecisions, WorkerStatus};
use crate::Phase;

fn status(route: Option<&str>) -> Status {
    let mut status = Status::new(
        Phase::Running,
        vec![AppStatus {
            id: "web".into(),
            entrypoint: true,
            failed: None,
            workers_wanted: Some(1),
            restarts: Restarts::default(),
            scaled: ScalerDecisions::default(),
            stalls: 0,
            workers: vec![WorkerStatus {
                id: "web:0".into(),
                state: WorkerState::Ready,
                elu: Some(0.5),
                heap: None,
                in_flight: 0,
                uptime_ms: Some(0),
            }],
        }],
    );
    if let Some(route) = route {
        status.routes.insert("web".into(), route.into());
    }
    status
}

fn scrape(status: &Status, names: &LabelNames, figures: &HashMap<String, Figures>) -> String {
    let m = HttpMetrics::default();
    m.record("GET", 200, Duration::from_millis(20));
    m.record("GET", 200, Duration::from_millis(80));
    m.record("POST", 503, Duration::from_millis(2));
    let http = vec![("web".to_string(), m.snapshot())];
    render(
        &Input {
            status,
            http: &http,
            process: &ProcessStats::default(),
            node_version: Some("v24.1.0"),
            labels: &[],
            names,
            figures,
        },
        Format::Prometheus,
    )
}

/// Each of `lines` is a whole line of `out`.
fn has<L: AsRef<str>>(out: &str, lines: impl IntoIterator<Item = L>) {
    for line in lines {
        let line = line.as_ref();
        assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
    }
}

#[test]
fn http_families_under_prom_client_and_watt_names_with_status_codes_and_route() {
    let out = scrape(
        &status(Some("/shop")),
        &LabelNames::default(),
        &HashMap::new(),
    );
    let get = r#"app="web",method="GET",status_code="200",route="/shop""#;
    let post = r#"app="web",method="POST",status_code="503",route="/shop""#;
    // prom-client's names, and Watt's `_all_` ones over the same series.
    for (histogram, summary) in [
        (
            "http_request_duration_seconds",
            "http_request_summary_seconds",
        ),
        (
            "http_request_all_duration_seconds",
            "http_request_all_summary_seconds",
        ),
    ] {
        has(
            &out,
            [
                format!("# TYPE {histogram} histogram"),
                format!(r#"{histogram}_bucket{{{get},le="0.025"}} 1"#),
                format!(r#"{histogram}_bucket{{{get},le="+Inf"}} 2"#),
                format!("{histogram}_count{{{post}}} 1"),
                format!("# TYPE {summary} summary"),
                format!(r#"{summary}{{{get},quantile="0.5"}} 0.025"#),
                format!("{summary}_count{{{get}}} 2"),
            ],
        );
    }
    // Spindle's own families are sums over the same series.
    has(
        &out,
        [
            r#"spindle_http_requests_total{app="web",method="GET",code_class="2xx"} 2"#,
            r#"spindle_http_request_duration_seconds_count{app="web",code_class="5xx"} 1"#,
        ],
    );
}

#[test]
fn without_a_route_prefix_there_is_no_route_label() {
    let out = scrape(&status(None), &LabelNames::default(), &HashMap::new());
    has(
        &out,
        [r#"http_request_duration_seconds_count{app="web",method="GET",status_code="200"} 2"#],
    );
}

#[test]
fn the_app_and_worker_labels_take_the_configured_names_everywhere() {
    let names = LabelNames::watt();
    let figures = HashMap::from([(
        "web:0".to_string(),
        Figures {
            app: Some(
                "# HELP orders_total Orders.\n# TYPE orders_total counter\norders_total 4\n".into(),
            ),
            ..Figures::default()
        },
    )]);
    let out = scrape(&status(None), &names, &figures);
    has(
        &out,
        [
            r#"spindle_workers{applicationId="web",state="ready"} 1"#,
            r#"nodejs_eventloop_utilization{applicationId="web",workerId="web:0"} 0.5"#,
            r#"http_request_duration_seconds_count{applicationId="web",method="GET",status_code="200"} 2"#,
            r#"spindle_worker_metrics_stale{applicationId="web",workerId="web:0"} 0"#,
            r#"orders_total{applicationId="web",workerId="web:0"} 4"#,
        ],
    );
    assert!(!out.contains("app=\""), "{out}");
    assert!(!out.contains("worker=\""), "{out}");
    // Every family once.
    let mut types: Vec<&str> = out.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let n = types.len();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), n, "{out}");
}
