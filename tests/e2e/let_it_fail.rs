//! "Let it fail": a worker that crashes, hangs or runs out of memory ends alone and is
//! replaced, and clients do not notice. Idempotent requests caught on a dying worker are
//! retried on another; a crash loop marks its app failed without taking the process down;
//! overload is answered 503 with `Retry-After`; SIGUSR2 restarts every worker under load.
//!
//! Every scenario uses the dependency-free `chaos` fixture, whose triggers log a
//! `{"msg":"chaos trigger","action":…}` line that Spindle labels with the worker's id: that
//! is how a test learns which worker a trigger landed on.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{header, Method, StatusCode};
use serde_json::{json, Value};
use spindle_e2e::client::{empty, get, get_when_up, poll, try_request, Response};
use spindle_e2e::load::{Load, LoadRun};
use spindle_e2e::trigger::wait_trigger;
use spindle_e2e::workers::wait_ready_workers;
use spindle_e2e::workers::StatusSource::Admin;
use spindle_e2e::workers::{wait_live, LEAVING};
use spindle_e2e::{
    fixture, free_port, LogLine, Running, TempDir, TestServer, READY_TIMEOUT, STEP_TIMEOUT,
};
use tokio::time::Instant;

const APP: &str = "web";

/// A worker's thread has ended: "worker exited" (stopped or terminated) or "worker crashed".
fn is_end_of(line: &LogLine, worker: &str) -> bool {
    (line.is_msg("worker exited") || line.is_msg("worker crashed"))
        && line.str("worker") == Some(worker)
}

/// Every worker id of `app` that a line says left the rotation (see [`LEAVING`]).
fn left_workers(server: &Running, app: &str) -> BTreeSet<String> {
    server
        .logs()
        .iter()
        .filter(|line| line.is_app(app) && LEAVING.iter().any(|msg| line.is_msg(msg)))
        .filter_map(|line| line.str("worker").map(str::to_string))
        .collect()
}

/// POSTs `/{action}` and returns the answer with the worker it landed on (from the
/// fixture's "chaos trigger" line).
async fn trigger(server: &Running, action: &str) -> (Result<Response, String>, String) {
    let (result, _, worker) =
        request_trigger(server, Method::POST, &format!("/{action}"), action).await;
    (result, worker)
}

/// Sends `method` to `path` and waits for the "chaos trigger" line of `action` it causes:
/// the answer, that line, and the worker it names.
async fn request_trigger(
    server: &Running,
    method: Method,
    path: &str,
    action: &str,
) -> (Result<Response, String>, LogLine, String) {
    let mark = server.log_mark();
    let result = try_request(
        &format!("{}{path}", server.url()),
        method,
        empty(),
        STEP_TIMEOUT,
    )
    .await
    .map_err(|err| err.to_string());
    let (line, worker) = wait_trigger(server, mark, "chaos", action).await;
    (result, line, worker)
}

/// `method /die-once?token=<token>`: the first worker to see `token` exits before it
/// answers. Returns the answer, the trigger line and the worker that died.
async fn die_once(
    server: &Running,
    method: Method,
    token: &str,
) -> (Result<Response, String>, LogLine, String) {
    let path = format!("/die-once?token={token}");
    request_trigger(server, method, &path, "die-once").await
}

/// Asserts a 502 JSON answer naming `app` and `worker`.
fn assert_502_naming(server: &Running, what: &str, res: &Result<Response, String>, worker: &str) {
    let res = match res {
        Ok(res) => res,
        Err(err) => server.fail(&format!("{what}: no answer ({err}); expected a 502")),
    };
    if res.status != StatusCode::BAD_GATEWAY {
        server.fail(&format!(
            "{what}: expected 502 naming {worker}, got {}: {}",
            res.status,
            res.text()
        ));
    }
    let body = res.json();
    assert_eq!(body["app"], APP, "{what}: the 502 names the app: {body}");
    assert_eq!(
        body["worker"], worker,
        "{what}: the 502 names the worker: {body}"
    );
}

/// Four GET clients, each pausing `pause` between requests, already going: the traffic a
/// worker's replacement must not fail.
async fn light_load(server: &Running, pause: Duration) -> LoadRun {
    let load = Load::get(server.url(), "/")
        .clients(4)
        .pause(pause)
        .limits(20_000, Duration::from_secs(20))
        .start();
    load.assert_going(20).await;
    load
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Chaos {
    Crash,
    Hang,
    Oom,
}

impl Chaos {
    fn action(self) -> &'static str {
        match self {
            Chaos::Crash => "crash",
            Chaos::Hang => "hang",
            Chaos::Oom => "oom",
        }
    }
}

/// 32 keep-alive GET clients for about 12 s while workers crash every 2 s, one hangs and
/// one runs out of memory: not one GET fails, and the app ends with two fresh Ready workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_under_load_fails_no_get_and_replaces_every_broken_worker() {
    let server = TestServer::new()
        .app(APP, fixture("chaos"))
        .workers(2)
        .config_json(json!({"health": {"maxHeapTotal": "64MB", "maxYoungGeneration": "16MB"}}))
        .start()
        .await;
    wait_live(&server, APP, 2, &BTreeSet::new(), READY_TIMEOUT).await;

    let load = Load::get(server.url(), "/")
        .clients(32)
        .limits(400_000, Duration::from_secs(20))
        .request_timeout(Duration::from_secs(10))
        .start();
    load.assert_going(100).await;

    // A crash every 2 s, a hang and an out-of-memory in between. Each trigger waits for
    // the previous victim's successor, so two workers are Ready when it is sent.
    let schedule = [
        (1_000, Chaos::Crash),
        (3_000, Chaos::Crash),
        (4_000, Chaos::Hang),
        (5_000, Chaos::Crash),
        (7_000, Chaos::Crash),
        (8_000, Chaos::Oom),
        (9_000, Chaos::Crash),
        (11_000, Chaos::Crash),
    ];
    let began = Instant::now();
    let mut victims: Vec<(Chaos, String)> = Vec::new();
    let mut gone = BTreeSet::new();
    for (at_ms, chaos) in schedule {
        // The pace of the chaos, not synchronization: the waits are on log lines.
        tokio::time::sleep_until(began + Duration::from_millis(at_ms)).await;
        wait_live(&server, APP, 2, &gone, STEP_TIMEOUT).await;
        assert!(
            !load.is_finished(),
            "the load ended before the chaos did (at {at_ms} ms): make its bounds wider"
        );
        let (res, victim) = trigger(&server, chaos.action()).await;
        match chaos {
            // Not retried (a POST): the client learns which worker died.
            Chaos::Crash => assert_502_naming(&server, "POST /crash", &res, &victim),
            Chaos::Hang | Chaos::Oom => match &res {
                Ok(res) if res.status == StatusCode::OK => {}
                other => server.fail(&format!(
                    "POST /{} answers 200 before it strikes; got {other:?}",
                    chaos.action()
                )),
            },
        }
        eprintln!(
            "chaos: {} on {victim} at {} ms",
            chaos.action(),
            began.elapsed().as_millis()
        );
        gone.insert(victim.clone());
        victims.push((chaos, victim));
    }
    // The last victim's successor, then a little more load on the settled app.
    wait_live(&server, APP, 2, &gone, STEP_TIMEOUT).await;
    load.wait_more_ok(200, Duration::from_secs(5)).await;
    let report = load.finish().await;
    eprintln!("chaos load: {}", report.summary());

    assert!(
        server.exit_status().is_none(),
        "spindle exited during the chaos"
    );
    assert_eq!(
        get(&format!("{}/live", server.admin_url())).await.status,
        StatusCode::OK
    );
    assert!(report.ok > 0, "{}", report.summary());
    assert_eq!(
        report.failed,
        0,
        "every GET must get a 200 through crashes, a hang and an OOM: {}",
        report.summary()
    );

    // Each victim's thread ended, of the cause it was given.
    for (chaos, victim) in &victims {
        let end = server
            .wait_log(|line| is_end_of(line, victim), STEP_TIMEOUT)
            .await;
        match chaos {
            Chaos::Crash => {
                assert!(end.is_msg("worker crashed"), "{victim}: {}", end.text);
                assert_eq!(
                    end.field("code").and_then(Value::as_i64),
                    Some(1),
                    "{victim}: {}",
                    end.text
                );
            }
            Chaos::Hang => {
                let unhealthy = server
                    .wait_log(
                        |line| {
                            line.is_msg("worker unhealthy")
                                && line.str("worker") == Some(victim.as_str())
                        },
                        STEP_TIMEOUT,
                    )
                    .await;
                assert_eq!(
                    unhealthy.str("reason"),
                    Some("stalled"),
                    "{}",
                    unhealthy.text
                );
            }
            Chaos::Oom => {
                assert!(end.is_msg("worker crashed"), "{victim}: {}", end.text);
                assert!(
                    end.str("error")
                        .is_some_and(|e| e.contains("ERR_WORKER_OUT_OF_MEMORY")),
                    "{victim} ran out of heap: {}",
                    end.text
                );
            }
        }
    }
    // Any other worker that left (a health rule may replace one under this load) ended too.
    let mut replaced = left_workers(&server, APP);
    let unexpected: Vec<&String> = replaced.difference(&gone).collect();
    if !unexpected.is_empty() {
        eprintln!("also replaced, without a trigger: {unexpected:?}");
    }
    for worker in &unexpected {
        server
            .wait_log(|line| is_end_of(line, worker), STEP_TIMEOUT)
            .await;
    }
    replaced.extend(gone.iter().cloned());

    let survivors =
        wait_ready_workers(&server, Admin, APP, 2, &replaced, Duration::from_secs(10)).await;
    eprintln!(
        "after {} triggers: {} workers replaced, serving: {survivors:?}",
        victims.len(),
        replaced.len()
    );
}

/// A worker whose loop stops turning is declared unhealthy ("stalled") and replaced
/// within seconds while the other keeps serving a light load without a single failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_worker_is_detected_and_replaced_while_traffic_continues() {
    const MAX_STALL_MS: u64 = 1000;
    let server = TestServer::new()
        .app(APP, fixture("chaos"))
        .workers(2)
        .config_json(json!({"health": {"maxStall": MAX_STALL_MS}}))
        .start()
        .await;
    let initial = wait_live(&server, APP, 2, &BTreeSet::new(), READY_TIMEOUT).await;

    let load = light_load(&server, Duration::from_millis(5)).await;

    let (res, victim) = trigger(&server, "hang").await;
    match &res {
        Ok(res) if res.status == StatusCode::OK => {}
        other => server.fail(&format!("POST /hang answers 200 first; got {other:?}")),
    }
    let ok_at_hang = load.ok();
    let hang = server
        .wait_log(
            |line| {
                line.msg() == Some("chaos hang begins")
                    && line.str("worker") == Some(victim.as_str())
            },
            STEP_TIMEOUT,
        )
        .await;
    let hung_at = hang.time_ms().unwrap_or_else(now_ms);

    let unhealthy = server
        .wait_log(
            |line| line.is_msg("worker unhealthy") && line.str("worker") == Some(victim.as_str()),
            Duration::from_secs(10),
        )
        .await;
    let successor = server
        .wait_log(
            |line| {
                line.is_serving_start()
                    && line.is_app(APP)
                    && line
                        .str("worker")
                        .is_some_and(|w| !initial.contains(w) && w != victim)
            },
            Duration::from_secs(10),
        )
        .await;
    let ok_at_successor = load.ok();
    let end = server
        .wait_log(|line| is_end_of(line, &victim), Duration::from_secs(10))
        .await;
    let report = load.finish().await;

    let after = |line: &LogLine| line.time_ms().map(|t| t.saturating_sub(hung_at));
    let detected_ms = after(&unhealthy);
    let ready_ms = after(&successor);
    let ended_ms = after(&end);
    eprintln!(
        "stuck worker {victim} (maxStall {MAX_STALL_MS} ms): unhealthy after {detected_ms:?} ms, \
         successor {} ready after {ready_ms:?} ms, stuck thread ended ({}) after {ended_ms:?} ms; \
         {} requests served meanwhile; load: {}",
        successor.str("worker").unwrap_or("?"),
        end.msg().unwrap_or("?"),
        ok_at_successor.saturating_sub(ok_at_hang),
        report.summary()
    );

    assert_eq!(
        unhealthy.str("reason"),
        Some("stalled"),
        "{}",
        unhealthy.text
    );
    assert!(
        unhealthy.str("detail").is_some(),
        "the unhealthy line explains itself in `detail`: {}",
        unhealthy.text
    );
    let detected_ms = detected_ms.unwrap_or_else(|| panic!("no time: {}", unhealthy.text));
    let ready_ms = ready_ms.unwrap_or_else(|| panic!("no time: {}", successor.text));
    assert!(
        detected_ms >= MAX_STALL_MS / 2,
        "declared stalled after {detected_ms} ms, well before maxStall ({MAX_STALL_MS} ms)"
    );
    assert!(detected_ms < 5_000, "detected after {detected_ms} ms");
    assert!(ready_ms < 5_000, "successor ready after {ready_ms} ms");
    assert!(
        ok_at_successor > ok_at_hang,
        "no request was served while the stuck worker was being replaced"
    );
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert!(server.exit_status().is_none(), "spindle exited");
}

/// SIGUSR2 under a POST load replaces every worker, one at a time, successor first: no
/// POST fails, every echo comes back intact, and the app ends with two new workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigusr2_restarts_every_worker_without_failing_a_post() {
    let server = TestServer::new()
        .app(APP, fixture("chaos"))
        .workers(2)
        .start()
        .await;
    let initial = wait_live(&server, APP, 2, &BTreeSet::new(), READY_TIMEOUT).await;

    let load = Load::post_echo(server.url(), "/echo", 1024)
        .clients(8)
        .limits(200_000, Duration::from_secs(40))
        .start();
    load.assert_going(200).await;

    let mark = server.log_mark();
    let ok_at_signal = load.ok();
    server.sigusr2();
    server.wait_app_restarted_since(mark, APP).await;
    let during_restart = load.ok() - ok_at_signal;
    assert!(
        !load.is_finished(),
        "the load ended before the restart did: make its bounds wider"
    );
    // Some more POSTs on the new workers.
    load.wait_more_ok(200, STEP_TIMEOUT).await;
    for old in &initial {
        server
            .wait_log_since(mark, |line| is_end_of(line, old), STEP_TIMEOUT)
            .await;
    }
    let report = load.finish().await;
    eprintln!(
        "rolling restart load: {} ({during_restart} POSTs answered between SIGUSR2 and \
         `app restarted`)",
        report.summary()
    );

    assert!(server.exit_status().is_none(), "spindle exited on SIGUSR2");
    assert!(report.ok > 0, "{}", report.summary());
    assert_eq!(
        report.failed,
        0,
        "a rolling restart fails no request: {}",
        report.summary()
    );
    assert!(
        during_restart > 0,
        "no POST was answered while the restart was under way: {}",
        report.summary()
    );

    // Replace before stop: when the k-th old worker exits, k successors are Ready; and
    // no worker crashed.
    let lines = server.logs();
    let mut successors = BTreeSet::new();
    let mut stopped = 0;
    for line in &lines[mark..] {
        let Some(worker) = line.str("worker").filter(|_| line.is_app(APP)) else {
            continue;
        };
        if line.is_msg("worker crashed") || line.is_msg("worker failed to start") {
            server.fail(&format!(
                "a worker crashed during the restart: {}",
                line.text
            ));
        }
        if line.is_msg("worker ready") && !initial.contains(worker) {
            successors.insert(worker.to_string());
        }
        if line.is_msg("worker exited") && initial.contains(worker) {
            stopped += 1;
            assert!(
                successors.len() >= stopped,
                "{worker} stopped when only {successors:?} had replaced the old workers \
                 {initial:?}: {}",
                line.text
            );
        }
    }
    assert_eq!(stopped, initial.len(), "every old worker exited");

    let now = wait_ready_workers(&server, Admin, APP, 2, &initial, Duration::from_secs(10)).await;
    assert!(
        now.is_disjoint(&initial),
        "after the restart: {now:?}, before: {initial:?}"
    );
}

/// An app that throws at load is restarted with growing delays, then marked failed after
/// `maxFailedStarts`; readiness names it, and the entrypoint keeps serving.
#[tokio::test]
async fn a_crash_looping_app_is_marked_failed_and_the_others_keep_serving() {
    const MAX_FAILED_STARTS: usize = 4;
    // Fixed ports: with one app never ready, "spindle ready" (with the URLs) may not come.
    let (server_port, admin_port) = (free_port(), free_port());
    let server = TestServer::new()
        .app(APP, fixture("chaos"))
        .app("crashy", fixture("chaos"))
        .env("CRASH_AT_LOAD", "1")
        .app_config(json!({"maxFailedStarts": MAX_FAILED_STARTS}))
        .entrypoint(APP)
        .server_port(server_port)
        .admin_port(admin_port)
        .spawn()
        .await;
    let url = format!("http://127.0.0.1:{server_port}");
    let admin = format!("http://127.0.0.1:{admin_port}");

    let failed = server
        .wait_log(
            |line| line.is_msg("app failed") && line.str("app") == Some("crashy"),
            Duration::from_secs(30),
        )
        .await;
    assert!(
        failed.str("reason").is_some_and(|r| !r.is_empty()),
        "the line says why: {}",
        failed.text
    );
    let lines = server.logs();
    let failed_at = lines
        .iter()
        .position(|line| line.is_msg("app failed") && line.str("app") == Some("crashy"))
        .expect("the line just waited for");
    let is_failed_start = |line: &LogLine| {
        line.is_app("crashy")
            && (line.is_msg("worker failed to start") || line.is_msg("worker crashed"))
    };
    let times: Vec<u64> = lines[..failed_at]
        .iter()
        .filter(|line| is_failed_start(line))
        .map(|line| {
            line.time_ms()
                .unwrap_or_else(|| panic!("no `time`: {}", line.text))
        })
        .collect();
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    // The delays the supervisor chose, from its log: unlike the gaps between failures
    // (a delay plus a worker's start), they do not depend on how loaded the machine is.
    let delays: Vec<u64> = lines[..failed_at]
        .iter()
        .filter(|line| {
            line.is_app("crashy")
                && line
                    .msg()
                    .is_some_and(|m| m.starts_with("restarting after a delay"))
        })
        .map(|line| {
            line.field("delay_ms")
                .and_then(|d| d.as_u64())
                .unwrap_or_else(|| panic!("no `delay_ms`: {}", line.text))
        })
        .collect();
    eprintln!(
        "crashy failed {} times; gaps between failures (ms): {gaps:?}; delays (ms): {delays:?}",
        times.len()
    );
    assert_eq!(
        times.len(),
        MAX_FAILED_STARTS,
        "failed starts before `app failed` (maxFailedStarts {MAX_FAILED_STARTS}); gaps {gaps:?}"
    );
    // The first crash of a streak restarts at once; each one after it waits twice as
    // long as the one before, from 100 ms.
    assert_eq!(
        delays,
        [100, 200],
        "restart delays after the 2nd and 3rd failed starts (gaps {gaps:?} ms)"
    );
    // And the restarts did wait them: each gap is a delay plus a start.
    for (gap, delay) in gaps[1..].iter().zip(&delays) {
        assert!(
            gap >= delay,
            "a restart came {gap} ms after a failure, before its {delay} ms delay: {gaps:?}"
        );
    }

    // The entrypoint serves.
    server
        .wait_log(
            |line| line.is_msg("worker ready") && line.is_app(APP),
            READY_TIMEOUT,
        )
        .await;
    let res = get_when_up(&format!("{url}/"), Duration::from_secs(10)).await;
    assert_eq!(res.status, StatusCode::OK, "GET /: {}", res.text());
    assert_eq!(res.json()["app"], "chaos", "{}", res.text());

    // Readiness is false and says which app.
    let ready = get_when_up(&format!("{admin}/ready"), Duration::from_secs(10)).await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "/ready: {}",
        ready.text()
    );
    let reason = ready.json()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("crashy"), "/ready: {}", ready.text());

    // A failed app is left alone: no start within a second (the next backoff step would
    // have come well within it).
    let restarted = server
        .try_wait_log_since(
            failed_at + 1,
            |line| is_failed_start(line) || (line.is_msg("worker ready") && line.is_app("crashy")),
            Duration::from_secs(1),
        )
        .await;
    if let Ok(line) = restarted {
        server.fail(&format!(
            "crashy was started again after `app failed`: {}",
            line.text
        ));
    }
    assert!(server.exit_status().is_none(), "spindle exited");
    let res = get(&format!("{url}/")).await;
    assert_eq!(res.status, StatusCode::OK, "GET / still: {}", res.text());
}

/// One worker, one request in flight at most, 200 ms of queue: of six concurrent slow
/// requests one is served and the others get a quick 503 with `Retry-After` naming the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_503_with_retry_after_naming_the_app() {
    const CONCURRENT: usize = 6;
    const SLOW_MS: u64 = 2000;
    let server = TestServer::new()
        .app(APP, fixture("chaos"))
        .workers(1)
        .app_config(json!({"maxInFlightPerWorker": 1, "queueTimeout": 200}))
        .start()
        .await;

    let url = format!("{}/slow?ms={SLOW_MS}", server.url());
    let requests: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let sent = Instant::now();
                let result = try_request(&url, Method::GET, empty(), STEP_TIMEOUT).await;
                (result.map_err(|e| e.to_string()), sent.elapsed())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for request in requests {
        outcomes.push(request.await.expect("request task"));
    }
    let summary: Vec<String> = outcomes
        .iter()
        .map(|(result, took)| match result {
            Ok(res) => format!("{} in {} ms", res.status, took.as_millis()),
            Err(err) => format!("{err} after {} ms", took.as_millis()),
        })
        .collect();
    eprintln!("overload: {summary:?}");

    let (mut served, mut refused) = (0, 0);
    for (result, took) in &outcomes {
        let res = match result {
            Ok(res) => res,
            Err(err) => server.fail(&format!("a request got no answer ({err}): {summary:?}")),
        };
        match res.status {
            StatusCode::OK => {
                served += 1;
                assert!(
                    took.as_millis() as u64 >= SLOW_MS - 100,
                    "a 200 before the slow request could finish: {summary:?}"
                );
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                let retry_after = res
                    .headers
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("a 503 without Retry-After: {:?}", res.headers));
                assert!(
                    retry_after.trim().parse::<u64>().is_ok(),
                    "Retry-After is a number of seconds: {retry_after:?}"
                );
                let body = res.json();
                assert_eq!(body["app"], APP, "the 503 names the app: {body}");
                assert!(body.get("error").is_some(), "the 503 has `error`: {body}");
                assert!(
                    (took.as_millis() as u64) < SLOW_MS - 500,
                    "the 503 waited for the busy worker instead of the 200 ms queue: {summary:?}"
                );
            }
            other => server.fail(&format!(
                "unexpected {other}: {}; all: {summary:?}",
                res.text()
            )),
        }
    }
    assert!(served >= 1, "nothing was served: {summary:?}");
    assert!(
        refused >= 1,
        "{CONCURRENT} requests to one worker limited to 1 in flight and a 200 ms queue were all \
         served: {summary:?}"
    );
}

/// A GET caught on a worker that dies before answering is retried once on the other
/// worker and answered 200; the same as a POST is not retried: 502 naming the worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_request_is_retried_once_and_a_post_is_not() {
    let state = TempDir::new();
    let server = TestServer::new()
        .app(APP, fixture("chaos"))
        .workers(2)
        .env(
            "CHAOS_STATE_DIR",
            state.path().to_str().expect("utf-8 temp path"),
        )
        .start()
        .await;
    wait_live(&server, APP, 2, &BTreeSet::new(), READY_TIMEOUT).await;
    let token = format!("{}-{}", std::process::id(), now_ms());

    // GET: the first worker dies, the retry on the other one answers.
    let mark = server.log_mark();
    let (res, died, victim) = die_once(&server, Method::GET, &format!("get-{token}")).await;
    let res = res.unwrap_or_else(|err| server.fail(&format!("GET /die-once: {err}")));
    assert_eq!(
        res.status,
        StatusCode::OK,
        "GET /die-once is retried on the other worker: {}",
        res.text()
    );
    let body = res.json();
    assert_eq!(body["survived"], true, "{body}");
    assert_ne!(
        body["threadId"],
        died.field("threadId").cloned().unwrap_or(Value::Null),
        "the answer came from another worker than the one that died: {body}"
    );
    let crashed = server
        .wait_log_since(mark, |line| is_end_of(line, &victim), STEP_TIMEOUT)
        .await;
    assert!(crashed.is_msg("worker crashed"), "{}", crashed.text);

    // Two Ready workers again, then the same as a POST.
    let gone = BTreeSet::from([victim.clone()]);
    wait_live(&server, APP, 2, &gone, STEP_TIMEOUT).await;
    let mark = server.log_mark();
    let (res, _, victim) = die_once(&server, Method::POST, &format!("post-{token}")).await;
    assert_502_naming(&server, "POST /die-once", &res, &victim);
    server
        .wait_log_since(mark, |line| is_end_of(line, &victim), STEP_TIMEOUT)
        .await;
    assert!(server.exit_status().is_none(), "spindle exited");
}

/// Polls `/status` until `app` has exactly one "ready" and one "standby" worker, neither
/// in `gone`; returns (ready, standby).
async fn wait_ready_and_standby(
    server: &Running,
    app: &str,
    gone: &BTreeSet<String>,
) -> (String, String) {
    let found = poll(READY_TIMEOUT, || async {
        let status = server.admin_json("/status").await;
        let workers = status["apps"].as_array()?.iter().find(|a| a["id"] == app)?["workers"]
            .as_array()?
            .clone();
        let of = |state: &str| -> Vec<String> {
            workers
                .iter()
                .filter(|w| w["state"] == state)
                .filter_map(|w| w["id"].as_str().map(str::to_string))
                .collect()
        };
        let (ready, standby) = (of("ready"), of("standby"));
        (workers.len() == 2
            && ready.len() == 1
            && standby.len() == 1
            && !gone.contains(&ready[0])
            && !gone.contains(&standby[0]))
        .then(|| (ready[0].clone(), standby[0].clone()))
    })
    .await;
    found.unwrap_or_else(|| {
        server.fail(&format!(
            "{app} never had one ready and one standby worker (excluding {gone:?})"
        ))
    })
}

/// With `standbyWorkers: 1`, a crash is covered by the loaded standby in the same step
/// the crash is handled, with no cold start in between: no GET fails, the standby answers,
/// and a new standby follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_covered_by_the_standby_at_once_and_a_new_standby_follows() {
    let server = TestServer::new()
        .app(APP, fixture("chaos"))
        .workers(1)
        .config_json(json!({"standbyWorkers": 1}))
        .start()
        .await;
    let (serving, standby) = wait_ready_and_standby(&server, APP, &BTreeSet::new()).await;
    let metrics = server.scrape_metrics().await;
    assert!(
        metrics.contains(&format!(
            "spindle_workers{{app=\"{APP}\",state=\"standby\"}} 1"
        )),
        "the standby worker is counted as such:\n{metrics}"
    );

    let load = light_load(&server, Duration::from_millis(2)).await;

    let mark = server.log_mark();
    let (_, victim) = trigger(&server, "crash").await;
    assert_eq!(victim, serving, "only the serving worker gets requests");
    let promoted = server
        .wait_msg_since(mark, "standby worker promoted: serving from now on")
        .await;
    assert_eq!(
        promoted.str("worker"),
        Some(standby.as_str()),
        "{}",
        promoted.text
    );

    // Between the crash and the promotion no worker became ready: the standby did not
    // wait for a start. (It is promoted as the crashed thread begins to exit, before
    // "worker crashed", which comes once Node has torn the thread down.)
    let since: Vec<LogLine> = server.logs().into_iter().skip(mark).collect();
    let promoted_at = since
        .iter()
        .position(|l| l.is_msg("standby worker promoted: serving from now on"))
        .expect("seen above");
    for line in &since[..promoted_at] {
        assert!(
            !line.is_msg("worker ready") && !line.is_msg("standby worker ready"),
            "the promotion waited for a start: {}",
            line.text
        );
    }
    server
        .wait_log_since(
            mark,
            |l| l.is_msg("worker crashed") && l.str("worker") == Some(victim.as_str()),
            STEP_TIMEOUT,
        )
        .await;

    // The standby serves, and a new standby is loaded behind it.
    let gone = BTreeSet::from([victim.clone()]);
    let (now_serving, next_standby) = wait_ready_and_standby(&server, APP, &gone).await;
    assert_eq!(now_serving, standby);
    assert_ne!(next_standby, victim);
    let served_by_standby = load.ok();
    assert!(
        load.wait_ok(served_by_standby + 20, STEP_TIMEOUT).await,
        "the promoted worker does not serve"
    );
    let report = load.finish().await;
    assert_eq!(report.failed, 0, "{}", report.summary());
    let status = server.admin_json("/status").await;
    assert_eq!(status["apps"][0]["restarts"]["crash"], 1, "{status}");
}
