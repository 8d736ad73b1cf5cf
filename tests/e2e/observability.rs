//! Metrics and probes: rendered from what the core holds, so they answer even while every
//! worker's event loop is stuck, and their values match the work done.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::json;
use spindle_e2e::client::{full, get, get_within, post, try_get, try_request};
use spindle_e2e::metrics::series_value as value;
use spindle_e2e::{fixture, TestServer, STEP_TIMEOUT};

#[tokio::test]
async fn request_counters_match_the_requests_sent() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;
    for _ in 0..25 {
        assert_eq!(
            get(&format!("{}/", server.url())).await.status,
            StatusCode::OK
        );
    }
    let res = try_request(
        &format!("{}/nope", server.url()),
        Method::DELETE,
        full(""),
        STEP_TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(
        res.status,
        StatusCode::OK,
        "the plain app answers every path"
    );

    let m = server.scrape_metrics().await;
    let get_2xx = r#"spindle_http_requests_total{app="web",method="GET",code_class="2xx"}"#;
    assert_eq!(value(&m, get_2xx), Some(25.0), "{m}");
    let delete_2xx = r#"spindle_http_requests_total{app="web",method="DELETE",code_class="2xx"}"#;
    assert_eq!(value(&m, delete_2xx), Some(1.0));
    let count = r#"spindle_http_request_duration_seconds_count{app="web",code_class="2xx"}"#;
    assert_eq!(value(&m, count), Some(26.0));
    let inf =
        r#"spindle_http_request_duration_seconds_bucket{app="web",code_class="2xx",le="+Inf"}"#;
    assert_eq!(value(&m, inf), Some(26.0));
    assert_eq!(
        value(&m, r#"spindle_workers{app="web",state="ready"}"#),
        Some(1.0)
    );
    assert_eq!(value(&m, "spindle_ready"), Some(1.0));
    assert!(value(&m, "process_resident_memory_bytes").unwrap() > 10e6);
    let node = m
        .lines()
        .find(|l| l.starts_with("nodejs_version_info{"))
        .expect("node version");
    assert!(node.contains("version=\"v"), "{node}");

    // Cumulative: a second scrape does not reset anything.
    let again = server.scrape_metrics().await;
    assert_eq!(value(&again, get_2xx), Some(25.0));
}

#[tokio::test]
async fn a_crash_counts_as_a_restart_and_a_busy_worker_shows_high_elu() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;
    let mark = server.log_mark();
    let res = post(&format!("{}/exit", server.url()), "x").await;
    assert_eq!(res.status, StatusCode::BAD_GATEWAY);
    server.wait_serving_since(mark, "web:1").await;
    let m = server.scrape_metrics().await;
    assert_eq!(
        value(
            &m,
            r#"spindle_worker_restarts_total{app="web",reason="crash"}"#
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            r#"spindle_worker_restarts_total{app="web",reason="unhealthy"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            r#"spindle_http_requests_total{app="web",method="POST",code_class="5xx"}"#
        ),
        Some(1.0)
    );

    // Busy but turning: ELU near 1, read from outside the worker.
    let url = format!("{}/spin?ms=3000", server.url());
    let spin = tokio::spawn(async move { try_get(&url).await });
    let series = r#"nodejs_eventloop_utilization{app="web",worker="web:1"}"#;
    let deadline = Instant::now() + Duration::from_millis(2500);
    let mut seen = 0.0;
    while Instant::now() < deadline {
        seen = value(&server.scrape_metrics().await, series).unwrap_or(0.0);
        if seen > 0.9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // sampling pace, not synchronization
    }
    assert!(seen > 0.9, "ELU of a spinning worker: {seen}");
    assert_eq!(
        spin.await.unwrap().unwrap().status,
        StatusCode::OK,
        "busy is not stuck: never replaced"
    );
    let m = server.scrape_metrics().await;
    assert_eq!(
        value(&m, r#"spindle_event_loop_stalls_total{app="web"}"#),
        Some(0.0)
    );
}

#[tokio::test]
async fn probes_and_metrics_answer_while_every_worker_is_stuck() {
    // One worker, stuck for good (maxStall far away): nothing JavaScript can answer.
    let server = TestServer::new()
        .app("web", fixture("chaos"))
        .config_json(json!({"health": {"maxStall": 60000}}))
        .start()
        .await;
    let res = post(&format!("{}/hang", server.url()), "").await;
    assert_eq!(res.status, StatusCode::OK);
    server
        .wait_log(|l| l.is_msg("chaos hang begins"), STEP_TIMEOUT)
        .await;

    for path in ["/live", "/ready", "/status", "/metrics"] {
        let res = get_within(
            &format!("{}{path}", server.admin_url()),
            Duration::from_secs(1),
        )
        .await;
        assert_ne!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
    // The management API, on its Unix socket, answers too.
    let socket = std::env::temp_dir()
        .join(format!("spindle-{}", server.pid()))
        .join("control.sock");
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(1), control_get(&socket, "/v1/status"))
        .await
        .expect("management API answers within 1 s");
    assert!(status.starts_with("HTTP/1."), "{status}");
    assert!(status.contains("\"web:0\""), "{status}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // The loop stopped turning and heap reports stopped; the core still renders the worker.
    let m = server.scrape_metrics().await;
    assert_eq!(
        value(
            &m,
            r#"spindle_worker_state{app="web",worker="web:0",state="ready"}"#
        ),
        Some(1.0),
        "{m}"
    );
    // In-flight is a gauge as of the last health tick (≤ 250 ms old): only its presence is certain.
    assert!(value(
        &m,
        r#"spindle_worker_requests_in_flight{app="web",worker="web:0"}"#
    )
    .is_some());
}

#[tokio::test]
async fn readiness_tells_why_and_metrics_can_require_auth() {
    let server = TestServer::new()
        .app("web", fixture("plain"))
        .config_json(json!({"metrics": {"auth": {"username": "prom", "password": "s3cret"}, "labels": {"region": "test"}}}))
        .start()
        .await;
    let res = get(&format!("{}/metrics", server.admin_url())).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.headers.get("www-authenticate").is_some());
    // Probes stay open: an orchestrator has no credentials.
    assert_eq!(
        get(&format!("{}/ready", server.admin_url())).await.status,
        StatusCode::OK
    );
    // What the workers are doing is behind the same auth.
    let status = get(&format!("{}/status", server.admin_url())).await;
    assert_eq!(status.status, StatusCode::UNAUTHORIZED);
    let status = spindle_e2e::client::send_with_headers(
        &format!("{}/status", server.admin_url()),
        &[("authorization", "Basic cHJvbTpzM2NyZXQ=")],
    )
    .await;
    assert_eq!(status.status, StatusCode::OK);
    assert!(status.json()["apps"].is_array(), "{}", status.text());

    let authorized = spindle_e2e::client::send_with_headers(
        &format!("{}/metrics", server.admin_url()),
        &[
            ("authorization", "Basic cHJvbTpzM2NyZXQ="),
            ("accept", "application/openmetrics-text; version=1.0.0"),
        ],
    )
    .await;
    assert_eq!(authorized.status, StatusCode::OK);
    let text = authorized.text();
    assert!(authorized.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(text.ends_with("# EOF\n"));
    assert!(
        text.contains("# TYPE spindle_http_requests counter"),
        "OpenMetrics names counter families without _total"
    );
    assert!(
        text.contains(r#"spindle_ready{region="test"} 1"#),
        "static labels on every sample"
    );
}

/// promtool's lint findings on names that http-metrics and Watt fixed and dashboards
/// query as they are: summaries named `_summary_`. Any other finding, or a parse error,
/// fails.
const INHERITED_LINT: [&str; 2] = [
    "http_request_summary_seconds metric name should not include type 'summary'",
    "http_request_all_summary_seconds metric name should not include type 'summary'",
];

#[tokio::test]
async fn promtool_accepts_a_real_scrape() {
    let Ok(promtool) = which("promtool") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install promtool (Debian package prometheus)"
        );
        eprintln!("SKIPPED: promtool not installed (apt-get install prometheus)");
        return;
    };
    // Every kind of family: two workers' runtime figures, HTTP series with and without a
    // route, and an app's own prom-client metrics merged across its workers.
    let server = TestServer::new()
        .app("web", fixture("plain"))
        .workers(2)
        .app("shop", fixture("prom-app"))
        .workers(2)
        .entrypoint("web")
        .config_json(
            json!({"server": {"hostname": "127.0.0.1", "port": 0, "routes": {"/shop": "shop"}}}),
        )
        .start()
        .await;
    for _ in 0..5 {
        get(&format!("{}/", server.url())).await;
        get(&format!("{}/shop/fail", server.url())).await;
        let res = post(&format!("{}/shop/order", server.url()), "").await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let text = spindle_e2e::client::poll(STEP_TIMEOUT, || async {
        let text = server.scrape_metrics().await;
        let lag = text
            .lines()
            .filter(|l| l.starts_with("nodejs_eventloop_lag_seconds{"))
            .count();
        (lag == 4 && text.contains("\nshop_orders_total{")).then_some(text)
    })
    .await
    .expect("every worker's runtime figures and the shop's counter in a scrape");
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<&str> = said
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // Exit 3 is "lint findings" (the text parsed); anything else but 0 is an error.
    let only_inherited =
        out.status.code() == Some(3) && findings.iter().all(|f| INHERITED_LINT.contains(f));
    assert!(
        out.status.success() || only_inherited,
        "promtool check metrics failed ({:?}):\n{said}\n--- scrape ---\n{text}",
        out.status
    );
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

#[tokio::test]
async fn readiness_tells_the_truth_when_the_only_worker_is_stuck_and_cannot_be_replaced() {
    let flag = spindle_e2e::TempDir::new();
    let flag = flag.path().join("crash-at-load");
    let server = TestServer::new()
        .app("web", fixture("chaos"))
        .app_config(json!({"env": {"CRASH_AT_LOAD_IF": flag.display().to_string()}}))
        .start()
        .await;
    assert_eq!(
        get(&format!("{}/ready", server.admin_url())).await.status,
        StatusCode::OK
    );

    // From now on every replacement fails at load; then the only worker gets stuck.
    std::fs::write(&flag, "1").unwrap();
    let res = post(&format!("{}/hang", server.url()), "").await;
    assert_eq!(res.status, StatusCode::OK);
    server
        .wait_log(|l| l.is_msg("worker unhealthy"), STEP_TIMEOUT)
        .await;
    server
        .wait_log(|l| l.is_msg("worker failed to start"), STEP_TIMEOUT)
        .await;

    let res = get_within(
        &format!("{}/ready", server.admin_url()),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        res.text()
    );
    assert!(
        res.text().contains("web"),
        "the reason names the app: {}",
        res.text()
    );
    let m = server.scrape_metrics().await;
    assert_eq!(value(&m, "spindle_ready"), Some(0.0));
    assert_eq!(
        value(&m, r#"spindle_event_loop_stalls_total{app="web"}"#),
        Some(1.0)
    );
    assert_eq!(
        get(&format!("{}/live", server.admin_url())).await.status,
        StatusCode::OK
    );
}

/// A whole HTTP/1.0 exchange on the management socket: the raw response text.
async fn control_get(socket: &std::path::Path, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .expect("connect to control.sock");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: spindle\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}
