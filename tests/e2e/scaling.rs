//! Dynamic scaling: the scaler reads each dynamic app's event-loop utilization (ELU) from
//! outside, gives a saturated app one more worker, takes it back once the app is idle, and,
//! when the budget (`workers.total`) is full, moves a worker from an app that can spare one
//! to the saturated app. Every decision is logged (`scaler decision`), counted
//! (`spindle_scaler_decisions_total`) and visible in `/status` (`workersWanted`).
//!
//! Both tests use the dependency-free `cpu` fixture: `GET /burn?ms=N` costs its worker N ms
//! of CPU in 20 ms slices (the loop keeps turning, so the stall check never fires), and `BACKGROUND_DUTY=0.3` makes every worker of an app about 30 % busy on its own,
//! with no traffic.
//!
//! The scaler is made quick for tests: `cooldown` 1 s, `gracePeriod` 0. The loaded app sets
//! `health.maxELU` to 1 (a check fails only *above* it, so never): a saturated worker
//! would otherwise be replaced as unhealthy after 5 s of grace and 5 checks, and on a busy
//! machine that could land inside a test and mix health replacements into the scaling.
//!
//! Each test prints its measured latencies on a line starting `scaling timing:` (see them
//! with `cargo nextest run -p spindle-e2e scaling --no-capture`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use spindle_e2e::client::poll;
use spindle_e2e::load::Load;
use spindle_e2e::metrics::sum;
use spindle_e2e::{fixture, LogLine, Running, TestServer, STEP_TIMEOUT};

const WEB: &str = "web";
const IDLE: &str = "idle";

/// How long a scaler decision may take once its condition holds. The scaler looks once a
/// second at the mean ELU over the last second, from samples taken every 250 ms: about
/// 2.5 s at worst on a quiet machine; the rest is margin for a loaded CI machine.
const DECISION_TIMEOUT: Duration = Duration::from_secs(10);

/// Concurrent `GET /burn?ms=200` clients: enough to keep one worker's loop (and, after a
/// scale-up, two) busy all the time, since each client always has a request in flight.
const BURN_CLIENTS: usize = 4;

/// The scaler settings every test starts from (top-level `workers`).
fn quick_scaler(total: u32) -> Value {
    json!({"workers": {"total": total, "cooldown": 1000, "gracePeriod": 0}})
}

/// A dynamic app's `workers` entry (`health.maxELU` 1: see the module doc).
fn dynamic(minimum: u32, maximum: u32) -> Value {
    json!({
        "workers": {"minimum": minimum, "maximum": maximum},
        "health": {"maxELU": 1},
    })
}

/// The bounded CPU load on the public port: at most 400 requests and 30 s, each answer
/// within 10 s (one worker serves the four clients' requests, 200 ms of CPU each, side by
/// side in about 800 ms).
fn burn_load(server: &Running) -> Load {
    Load::get(server.url(), "/burn?ms=200")
        .clients(BURN_CLIENTS)
        .limits(400, Duration::from_secs(30))
        .request_timeout(Duration::from_secs(10))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// One `scaler decision` log line.
#[derive(Clone, Debug, PartialEq)]
struct Decision {
    app: String,
    from: u64,
    to: u64,
    reason: String,
    detail: String,
    /// The line's `time` (ms since the epoch).
    at: u64,
}

impl Decision {
    fn parse(line: &LogLine) -> Option<Decision> {
        if !line.is_msg("scaler decision") {
            return None;
        }
        Some(Decision {
            app: line.str("app")?.to_string(),
            from: line.field("from")?.as_u64()?,
            to: line.field("to")?.as_u64()?,
            reason: line.str("reason")?.to_string(),
            detail: line.str("detail").unwrap_or_default().to_string(),
            at: line.time_ms()?,
        })
    }

    /// `app from→to (reason: detail)`, for messages.
    fn describe(&self) -> String {
        format!(
            "{} {}→{} ({}: {})",
            self.app, self.from, self.to, self.reason, self.detail
        )
    }
}

/// Every scaler decision logged so far, in order.
fn decisions(server: &Running) -> Vec<Decision> {
    server.logs().iter().filter_map(Decision::parse).collect()
}

/// Waits for the first scaler decision about `app` from line `mark` on, whatever it is, so
/// that a wrong decision fails with what it was instead of a timeout.
async fn next_decision(server: &Running, mark: usize, app: &str, timeout: Duration) -> Decision {
    let line = server
        .wait_log_since(
            mark,
            |line| Decision::parse(line).is_some_and(|d| d.app == app),
            timeout,
        )
        .await;
    Decision::parse(&line).expect("matched above")
}

/// Fails unless `decision` is `app from→to` for `reason`.
fn expect_decision(server: &Running, decision: &Decision, from: u64, to: u64, reason: &str) {
    if decision.from != from || decision.to != to || decision.reason != reason {
        server.fail(&format!(
            "expected the scaler to take {} from {from} to {to} ({reason}), but its decision \
             was {}; all decisions: {:?}",
            decision.app,
            decision.describe(),
            decisions(server)
                .iter()
                .map(Decision::describe)
                .collect::<Vec<_>>()
        ));
    }
}

/// The `id` of the first worker of `app` that logged `msg` ("worker ready", "worker
/// exited") from line `mark` on.
async fn next_worker(server: &Running, mark: usize, app: &str, msg: &str) -> String {
    let line = server
        .wait_log_since(
            mark,
            |line| line.is_msg(msg) && line.is_app(app),
            STEP_TIMEOUT,
        )
        .await;
    line.str("worker")
        .unwrap_or_else(|| panic!("a {msg:?} line names its worker: {}", line.text))
        .to_string()
}

/// One app in the admin `/status`: `workersWanted` and `(id, state, inFlight)` per worker.
#[derive(Clone, Debug, PartialEq)]
struct AppStatus {
    wanted: u64,
    workers: Vec<(String, String, u64)>,
}

impl AppStatus {
    fn ids_in(&self, state: &str) -> Vec<&str> {
        self.workers
            .iter()
            .filter(|(_, s, _)| s == state)
            .map(|(id, _, _)| id.as_str())
            .collect()
    }
}

async fn app_status(server: &Running, app: &str) -> AppStatus {
    let status = server.admin_json("/status").await;
    let Some(entry) = status["apps"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["id"] == app))
    else {
        server.fail(&format!("/status has no app {app:?}: {status}"));
    };
    let Some(wanted) = entry["workersWanted"].as_u64() else {
        server.fail(&format!(
            "/status app {app:?} has no workersWanted: {entry}"
        ));
    };
    let workers = entry["workers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap_or("?").to_string(),
                w["state"].as_str().unwrap_or("?").to_string(),
                w["inFlight"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    AppStatus { wanted, workers }
}

/// Waits until `app` wants two workers and has two, both ready with requests in flight.
async fn wait_two_busy(server: &Running, app: &str) -> AppStatus {
    wait_status(
        server,
        app,
        "2 wanted, 2 ready, each with requests in flight",
        STEP_TIMEOUT,
        |s| {
            s.wanted == 2
                && s.workers.len() == 2
                && s.workers
                    .iter()
                    .all(|(_, state, in_flight)| state == "ready" && *in_flight > 0)
        },
    )
    .await
}

/// Polls `/status` until `app` satisfies `good`; panics with the last snapshot otherwise.
async fn wait_status(
    server: &Running,
    app: &str,
    what: &str,
    timeout: Duration,
    good: impl Fn(&AppStatus) -> bool,
) -> AppStatus {
    let last = std::sync::Mutex::new(None);
    let found = poll(timeout, || async {
        let status = app_status(server, app).await;
        let ok = good(&status);
        *last.lock().unwrap() = Some(status.clone());
        ok.then_some(status)
    })
    .await;
    found.unwrap_or_else(|| {
        server.fail(&format!(
            "/status never showed {app} with {what} within {timeout:?}; last: {:?}",
            last.lock().unwrap()
        ))
    })
}

/// `spindle_scaler_decisions_total{app, direction}` and `spindle_workers{app, state}`.
async fn scaler_metrics(server: &Running, app: &str) -> (f64, f64, f64) {
    let text = server.scrape_metrics().await;
    let up = sum(
        &text,
        "spindle_scaler_decisions_total",
        &[("app", app), ("direction", "up")],
    );
    let down = sum(
        &text,
        "spindle_scaler_decisions_total",
        &[("app", app), ("direction", "down")],
    );
    let ready = sum(
        &text,
        "spindle_workers",
        &[("app", app), ("state", "ready")],
    );
    (up, down, ready)
}

/// Fails if any worker of `app` was found unhealthy or crashed: the load must move the
/// scaler, not the health checks (a stalled loop would mean the fixture blocks it).
fn assert_no_replacements(server: &Running, app: &str) {
    let replaced: Vec<String> = server
        .logs()
        .iter()
        .filter(|l| l.is_app(app) && (l.is_msg("worker unhealthy") || l.is_msg("worker crashed")))
        .map(|l| l.text.clone())
        .collect();
    if !replaced.is_empty() {
        server.fail(&format!(
            "workers of {app} were replaced during the test: {replaced:#?}"
        ));
    }
}

/// One app `web` with workers {1..2} and a budget of 2. A CPU load saturates its worker: the
/// scaler adds one (busy), the new worker takes requests, and not one request fails. Once
/// the load stops the scaler takes one back (idle): the newest worker drains and exits,
/// `/status` wants 1 again, and those two are the only decisions it made.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saturated_app_gets_a_worker_and_gives_it_back_when_idle() {
    let server = TestServer::new()
        .app(WEB, fixture("cpu"))
        .app_config(dynamic(1, 2))
        .config_json(quick_scaler(2))
        .start()
        .await;
    let before = app_status(&server, WEB).await;
    assert_eq!(
        (before.wanted, before.ids_in("ready")),
        (1, vec!["web:0"]),
        "a dynamic app starts at its minimum: {before:?}"
    );

    // Load: the one worker's loop is busy all the time.
    let mark = server.log_mark();
    let load_started = now_ms();
    let load = burn_load(&server).start();
    let up = next_decision(&server, mark, WEB, DECISION_TIMEOUT).await;
    expect_decision(&server, &up, 1, 2, "busy");
    let up_latency = up.at.saturating_sub(load_started);

    // The new worker comes up and takes its share of the load.
    let added = next_worker(&server, mark, WEB, "worker ready").await;
    assert_ne!(added, "web:0", "the scale-up started a new worker");
    let both = wait_two_busy(&server, WEB).await;
    assert!(
        both.ids_in("ready").contains(&added.as_str()),
        "{added} is one of the two: {both:?}"
    );
    let (ups, downs, ready) = scaler_metrics(&server, WEB).await;
    assert_eq!(
        (ups, downs, ready),
        (1.0, 0.0, 2.0),
        "metrics under load: (decisions up, decisions down, ready workers)"
    );

    let down_mark = server.log_mark();
    let report = load.finish().await;
    let load_stopped = now_ms();
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert!(
        report.ok >= BURN_CLIENTS,
        "the load did run: {}",
        report.summary()
    );

    // Idle: one worker goes back, the newest.
    let down = next_decision(&server, down_mark, WEB, DECISION_TIMEOUT).await;
    expect_decision(&server, &down, 2, 1, "idle");
    let down_latency = down.at.saturating_sub(load_stopped);
    let exited = next_worker(&server, down_mark, WEB, "worker exited").await;
    assert_eq!(
        exited, added,
        "the scale-down drains and stops the newest worker"
    );
    let after = wait_status(
        &server,
        WEB,
        "1 wanted and only web:0, ready",
        STEP_TIMEOUT,
        |s| s.wanted == 1 && s.workers.len() == 1 && s.ids_in("ready") == ["web:0"],
    )
    .await;
    let (ups, downs, ready) = scaler_metrics(&server, WEB).await;
    assert_eq!(
        (ups, downs, ready),
        (1.0, 1.0, 1.0),
        "metrics after the load: (decisions up, decisions down, ready workers); {after:?}"
    );

    let all: Vec<String> = decisions(&server).iter().map(Decision::describe).collect();
    assert_eq!(
        all.len(),
        2,
        "exactly one scale-up and one scale-down, no flapping: {all:?}"
    );
    assert_no_replacements(&server, WEB);
    println!(
        "scaling timing: up {up_latency} ms after the load started ({}), down {down_latency} \
         ms after it stopped ({}); load: {}",
        up.detail,
        down.detail,
        report.summary()
    );
}

/// Apps `web` and `idle`, both workers {1..2}, budget 3. `idle` is scaled to 2 by hand
/// (`spindle scale`), so the budget is full; its workers are about 30 % busy on their own
/// (`BACKGROUND_DUTY`), between `scaleDownELU` (0.1) and the donor bar (the midpoint, 0.45).
/// A CPU load saturates `web`: on one tick the scaler takes `idle`'s newest worker (moved)
/// and gives `web` one more (busy); the budget is never exceeded and no request fails.
///
/// A donor that is really idle (ELU ≤ `scaleDownELU`) would not be *moved*: the scaler
/// shrinks it on its own first (`idle`), which frees the budget for a plain busy scale-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_budget_moves_a_worker_from_a_quiet_app_to_a_saturated_one() {
    let server = TestServer::new()
        .app(WEB, fixture("cpu"))
        .app_config(dynamic(1, 2))
        .app(IDLE, fixture("cpu"))
        .app_config(dynamic(1, 2))
        .env("BACKGROUND_DUTY", "0.3")
        .entrypoint(WEB)
        .config_json(quick_scaler(3))
        .config_json(json!({"workers": {"scaleDownELU": 0.1}}))
        .start()
        .await;

    // Fill the budget: web 1 + idle 2 = 3.
    let mark = server.log_mark();
    server.cli(&["scale", IDLE, "2"]).await.assert_ok();
    let second = next_worker(&server, mark, IDLE, "worker ready").await;
    wait_status(&server, IDLE, "2 wanted, 2 ready", STEP_TIMEOUT, |s| {
        s.wanted == 2 && s.ids_in("ready").len() == 2
    })
    .await;

    let mark = server.log_mark();
    let load_started = now_ms();
    let load = burn_load(&server).start();
    // Whatever the scaler does to `idle` first must be the move.
    let moved = next_decision(&server, mark, IDLE, DECISION_TIMEOUT).await;
    expect_decision(&server, &moved, 2, 1, "moved");
    assert_eq!(moved.detail, "moved to web", "{moved:?}");
    let grown = next_decision(&server, mark, WEB, STEP_TIMEOUT).await;
    expect_decision(&server, &grown, 1, 2, "busy");
    let move_latency = moved.at.saturating_sub(load_started);
    // One tick: the move comes out first (scale-downs free the budget before scale-ups
    // spend it) and nothing comes between the two.
    let since: Vec<Decision> = decisions(&server)
        .into_iter()
        .filter(|d| d.at >= load_started)
        .collect();
    assert_eq!(
        since.first().zip(since.get(1)),
        Some((&moved, &grown)),
        "the move and the scale-up are consecutive decisions, the move first: {since:?}"
    );

    // `idle` gives up its newest worker; `web` gets a new one that takes requests.
    let exited = next_worker(&server, mark, IDLE, "worker exited").await;
    assert_eq!(exited, second, "the donor drains its newest worker");
    let added = next_worker(&server, mark, WEB, "worker ready").await;
    let web = wait_two_busy(&server, WEB).await;
    assert!(web.ids_in("ready").contains(&added.as_str()), "{web:?}");
    let idle = wait_status(&server, IDLE, "1 wanted, 1 worker", STEP_TIMEOUT, |s| {
        s.wanted == 1 && s.workers.len() == 1
    })
    .await;
    assert_eq!(idle.ids_in("ready"), ["idle:0"], "{idle:?}");

    let (web_up, web_down, web_ready) = scaler_metrics(&server, WEB).await;
    let (idle_up, idle_down, idle_ready) = scaler_metrics(&server, IDLE).await;
    assert_eq!(
        [web_up, web_down, web_ready, idle_up, idle_down, idle_ready],
        [1.0, 0.0, 2.0, 0.0, 1.0, 1.0],
        "metrics: web (up, down, ready), idle (up, down, ready)"
    );

    // Checked while the load still runs, so `web` cannot have scaled down yet. The budget
    // held at every step: replay every change of a wanted count (the scaler's and `spindle
    // scale`'s alike, all logged as "scaling app") from the starting counts.
    let mut wanted: BTreeMap<String, u64> = [(WEB.to_string(), 1), (IDLE.to_string(), 1)].into();
    for line in server.logs().iter().filter(|l| l.is_msg("scaling app")) {
        let (Some(app), Some(to)) = (line.str("app"), line.field("to").and_then(Value::as_u64))
        else {
            server.fail(&format!("a scaling line without app and to: {}", line.text));
        };
        wanted.insert(app.to_string(), to);
        let total: u64 = wanted.values().sum();
        if total > 3 {
            server.fail(&format!(
                "the budget of 3 was exceeded ({wanted:?}) at: {}",
                line.text
            ));
        }
    }
    assert_eq!(
        wanted,
        [(WEB.to_string(), 2), (IDLE.to_string(), 1)].into(),
        "the last wanted counts"
    );
    let all: Vec<String> = decisions(&server).iter().map(Decision::describe).collect();
    assert_eq!(
        all.len(),
        2,
        "the move and the scale-up, nothing else: {all:?}"
    );

    let report = load.finish().await;
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert_no_replacements(&server, WEB);
    assert_no_replacements(&server, IDLE);
    println!(
        "scaling timing: move {move_latency} ms after the load started ({} / {}); load: {}",
        moved.detail,
        grown.detail,
        report.summary()
    );
}
