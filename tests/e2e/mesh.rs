//! The in-process mesh: inside a worker, `http://<app-id>.plt.local/...` reaches that
//! app's workers through the core, with no TCP port, whatever HTTP client the app uses
//! (Node's global `fetch`, `http.get` on the default agent, npm `undici`'s `request` and
//! `fetch` on its global dispatcher). A mesh call takes the callee's public path: worker
//! choice, queue, retry of idempotent requests, and the callee's metrics. The mesh answers
//! itself, in JSON, for an unknown app (502 `unknown_app`), a pair forbidden by
//! `policies.deny` (403 `denied`, both directions) and a callee slower than
//! `applicationTimeout` (504 `timeout`).
//!
//! Two fixtures: `mesh-gateway` (the entrypoint; `GET /via-<client>?to=X&path=P` calls
//! `http://X.plt.local` + P with that client and answers 200 `{via, status, body}` or
//! `{via, error}`; with `strict=1` it answers 502 unless the callee said 200 and named
//! itself) and `mesh-api` (reached only through the mesh; its triggers log a
//! `{"msg":"mesh-api trigger","action":…}` line that Spindle labels with the worker).

use std::collections::BTreeSet;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{json, Value};
use spindle_e2e::cli::CliOutput;
use spindle_e2e::client::{empty, poll, try_request, Response};
use spindle_e2e::load::Load;
use spindle_e2e::mesh::{get_with_host, query_escape, tcp_listen_ports};
use spindle_e2e::metrics::{samples, sum};
use spindle_e2e::trigger::wait_trigger;
use spindle_e2e::workers::wait_live;
use spindle_e2e::{fixture, LogLine, Running, TempDir, TestServer, READY_TIMEOUT, STEP_TIMEOUT};
use tokio::time::Instant;

const GATEWAY: &str = "gateway";
const API: &str = "api";

/// The HTTP clients the gateway can call through (`/via-<client>`).
const CLIENTS: [&str; 4] = ["fetch", "http", "undici", "undici-fetch"];

/// How long the test waits for one gateway answer: longer than any mesh timeout used here,
/// shorter than the default `applicationTimeout` (so a hang shows up as a timeout here).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `gateway` (the entrypoint, one worker) and `api` with `api_workers` workers.
fn gateway_and_api(api_workers: u32) -> TestServer {
    TestServer::new()
        .app(GATEWAY, fixture("mesh-gateway"))
        .app(API, fixture("mesh-api"))
        .workers(api_workers)
        .entrypoint(GATEWAY)
}

/// What the gateway reported about one mesh call.
struct Call {
    what: String,
    took: Duration,
    /// The gateway's own answer.
    res: Response,
    /// Its JSON body: `{via, to, url, status, body}` or `{via, to, url, error, cause}`.
    report: Value,
}

impl Call {
    /// The callee's status as the calling client saw it; None when the client threw.
    fn status(&self) -> Option<u64> {
        self.report["status"].as_u64()
    }

    /// The callee's body as the calling client saw it (parsed when JSON).
    fn body(&self) -> &Value {
        &self.report["body"]
    }

    fn describe(&self) -> String {
        format!(
            "{} -> gateway {} after {} ms: {}",
            self.what,
            self.res.status,
            self.took.as_millis(),
            self.res.text()
        )
    }
}

/// `GET /via-<client>?to=<to>&path=<path>` on the gateway; fails the test when the gateway
/// does not answer 200 JSON within [`CALL_TIMEOUT`].
async fn call(server: &Running, client: &str, to: &str, path: &str) -> Call {
    let what = format!("{client}: GET http://{to}.plt.local{path}");
    let url = format!(
        "{}/via-{client}?to={}&path={}",
        server.url(),
        query_escape(to),
        query_escape(path)
    );
    let sent = Instant::now();
    let res = match try_request(&url, Method::GET, empty(), CALL_TIMEOUT).await {
        Ok(res) => res,
        Err(err) => server.fail(&format!(
            "{what}: the gateway did not answer ({err}) after {} ms",
            sent.elapsed().as_millis()
        )),
    };
    let took = sent.elapsed();
    if res.status != StatusCode::OK {
        server.fail(&format!(
            "{what}: the gateway answered {}: {}",
            res.status,
            res.text()
        ));
    }
    let report: Value = match serde_json::from_slice(&res.body) {
        Ok(value) => value,
        Err(err) => server.fail(&format!("{what}: not JSON ({err}): {}", res.text())),
    };
    Call {
        what,
        took,
        res,
        report,
    }
}

/// Checks that the calling client got `status` with a JSON body whose `error` is `error`;
/// returns a complaint instead of panicking, so that one test can report every client.
fn check_mesh_error(call: &Call, status: u64, error: &str) -> Result<(), String> {
    if call.status() != Some(status) {
        return Err(format!(
            "expected the mesh to answer {status} {error:?}; {}",
            call.describe()
        ));
    }
    if call.body()["error"] != error {
        return Err(format!(
            "expected a JSON body with error {error:?}; {}",
            call.describe()
        ));
    }
    Ok(())
}

/// Fails the test listing every complaint, when there is any.
fn assert_none(server: &Running, complaints: &[String]) {
    if !complaints.is_empty() {
        server.fail(&format!(
            "{} problem(s):\n  {}",
            complaints.len(),
            complaints.join("\n  ")
        ));
    }
}

/// `spindle_http_requests_total{app, method="GET", code_class="2xx"}`.
async fn api_gets_ok(server: &Running, app: &str) -> f64 {
    server
        .requests_total(app, &[("method", "GET"), ("code_class", "2xx")])
        .await
}

/// Waits (up to [`STEP_TIMEOUT`]) until `app`'s GET 2xx counter reaches `want`, then
/// returns it (it may be higher: the caller asserts). The counter may be recorded a moment
/// after the caller has read the response, hence the wait; the assertion is on the value.
async fn gets_ok_reaching(server: &Running, app: &str, want: f64) -> f64 {
    match poll(STEP_TIMEOUT, || async {
        let now = api_gets_ok(server, app).await;
        (now >= want).then_some(now)
    })
    .await
    {
        Some(value) => value,
        None => {
            let now = api_gets_ok(server, app).await;
            let text = server.scrape_metrics().await;
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("spindle_http_requests_total"))
                .collect();
            server.fail(&format!(
                "{app}'s GET 2xx counter stayed at {now}, expected {want}; \
                 spindle_http_requests_total: {lines:#?}"
            ))
        }
    }
}

/// The `mesh-api trigger` line with `action` logged since `mark`; returns the worker it
/// names.
async fn trigger_worker(server: &Running, mark: usize, action: &str) -> String {
    wait_trigger(server, mark, "mesh-api", action).await.1
}

/// `POST /crash-api` on the gateway (which POSTs to `http://api.plt.local/crash`); returns
/// the gateway's report and the api worker that died.
async fn crash_api_through_the_mesh(server: &Running) -> (Call, String) {
    let mark = server.log_mark();
    let sent = Instant::now();
    let res = match try_request(
        &format!("{}/crash-api", server.url()),
        Method::POST,
        empty(),
        CALL_TIMEOUT,
    )
    .await
    {
        Ok(res) => res,
        Err(err) => server.fail(&format!("POST /crash-api: no answer ({err})")),
    };
    let took = sent.elapsed();
    let report: Value = serde_json::from_slice(&res.body)
        .unwrap_or_else(|err| server.fail(&format!("POST /crash-api: not JSON ({err})")));
    let victim = trigger_worker(server, mark, "crash").await;
    let call = Call {
        what: "fetch: POST http://api.plt.local/crash".to_string(),
        took,
        res,
        report,
    };
    (call, victim)
}

/// The parser behind the metric assertions below: a sum over the series that carry the
/// given labels, whatever other labels they have.
#[test]
fn metric_sums_pick_series_by_a_subset_of_labels() {
    let text = "# HELP spindle_http_requests_total Requests.\n\
        # TYPE spindle_http_requests_total counter\n\
        spindle_http_requests_total{app=\"api\",method=\"GET\",code_class=\"2xx\"} 3\n\
        spindle_http_requests_total{app=\"api\",method=\"GET\",code_class=\"5xx\"} 1\n\
        spindle_http_requests_total{region=\"eu \\\"1\\\", x\",app=\"api\",method=\"POST\",code_class=\"2xx\"} 2\n\
        spindle_http_requests_total{app=\"gateway\",method=\"GET\",code_class=\"2xx\"} 7\n\
        spindle_ready 1\n";
    let total = "spindle_http_requests_total";
    assert_eq!(sum(text, total, &[("app", "api")]), 6.0);
    assert_eq!(
        sum(text, total, &[("app", "api"), ("code_class", "2xx")]),
        5.0
    );
    assert_eq!(sum(text, total, &[("app", "gateway")]), 7.0);
    assert_eq!(sum(text, "spindle_ready", &[]), 1.0);
    assert_eq!(sum(text, "nope", &[]), 0.0);
    let parsed = samples(text);
    assert_eq!(parsed.len(), 5);
    assert_eq!(parsed[2].label("region"), Some("eu \"1\", x"));
    assert_eq!(parsed[2].label("method"), Some("POST"));
    assert_eq!(query_escape("/slow?ms=5"), "%2Fslow%3Fms%3D5");
}

/// Every client an app may use reaches `api` through the mesh, and each call counts in the
/// callee's own request counter, like public traffic would.
#[tokio::test]
async fn fetch_http_get_and_undici_reach_another_app_and_count_in_its_metrics() {
    let server = gateway_and_api(1).start().await;
    let before = api_gets_ok(&server, API).await;

    let mut complaints = Vec::new();
    for client in CLIENTS {
        let call = call(&server, client, API, "/whoami").await;
        eprintln!("{}", call.describe());
        if call.report["via"] != client {
            complaints.push(format!(
                "the gateway used another route; {}",
                call.describe()
            ));
        } else if call.status() != Some(200) || call.body()["app"] != API {
            complaints.push(format!(
                "expected 200 {{app: \"api\"}} from the callee; {}",
                call.describe()
            ));
        } else if call.body()["host"] != "api.plt.local" {
            // The callee sees the name it was called by (as a proxied public request would).
            complaints.push(format!(
                "the callee saw Host {:?}, expected \"api.plt.local\"; {}",
                call.body()["host"],
                call.describe()
            ));
        }
    }
    assert_none(&server, &complaints);

    let want = before + CLIENTS.len() as f64;
    let after = gets_ok_reaching(&server, API, want).await;
    assert_eq!(
        after,
        want,
        "api's GET 2xx counter went from {before} to {after}: each of the {} mesh calls \
         counts once",
        CLIENTS.len()
    );
    // The gateway's public requests count for the gateway, not for api.
    let gateway = gets_ok_reaching(&server, GATEWAY, CLIENTS.len() as f64).await;
    assert_eq!(gateway, CLIENTS.len() as f64, "the gateway's own counter");

    // No TCP port for the mesh (or the apps): the process listens on the ingress and the
    // admin server only.
    let port_of = |url: &str| -> u16 {
        url.rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url}"))
    };
    let expected = BTreeSet::from([port_of(server.url()), port_of(server.admin_url())]);
    let listening = tcp_listen_ports(server.pid());
    assert_eq!(
        listening, expected,
        "TCP ports spindle listens on, expected only the ingress and the admin server"
    );
}

/// Public traffic reaches only the entrypoint: `api` cannot be reached on the ingress, not
/// even with its mesh name as the Host.
#[tokio::test]
async fn the_ingress_serves_only_the_entrypoint() {
    let server = gateway_and_api(1).start().await;
    let before = api_gets_ok(&server, API).await;

    let url = format!("{}/whoami", server.url());
    let plain = get_with_host(&url, server.addr(), STEP_TIMEOUT)
        .await
        .unwrap_or_else(|err| server.fail(&format!("GET /whoami: {err}")));
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    assert_eq!(plain.json()["app"], GATEWAY, "{}", plain.text());

    for host in ["api.plt.local", "api.plt.local:80", "api"] {
        let res = get_with_host(&url, host, STEP_TIMEOUT)
            .await
            .unwrap_or_else(|err| server.fail(&format!("GET /whoami Host {host}: {err}")));
        let body: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
        eprintln!("Host {host}: {} {}", res.status, res.text());
        if body["app"] == API {
            server.fail(&format!(
                "a public request with Host {host} reached api: {} {}",
                res.status,
                res.text()
            ));
        }
    }
    let after = api_gets_ok(&server, API).await;
    assert_eq!(after, before, "api counted public requests");
}

/// While `api`'s two workers are crashed one after the other (through the mesh) and
/// replaced, no mesh call from the gateway fails: calls caught on a dying worker are
/// retried on the other, like public GETs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_mesh_call_fails_while_the_callees_workers_crash_and_are_replaced() {
    const CRASHES: usize = 4;
    const CRASH_EVERY: Duration = Duration::from_millis(1500);
    let server = gateway_and_api(2).start().await;
    wait_live(&server, API, 2, &BTreeSet::new(), READY_TIMEOUT).await;
    let before = api_gets_ok(&server, API).await;

    let loads = ["fetch", "http"].map(|client| {
        Load::get(
            server.url(),
            &format!("/via-{client}?to=api&path=%2Fwhoami&strict=1"),
        )
        .clients(4)
        .limits(50_000, Duration::from_secs(14))
        .request_timeout(CALL_TIMEOUT)
        .start()
    });
    for load in &loads {
        assert!(
            load.wait_ok(50, STEP_TIMEOUT).await,
            "the load never got going: {} ok, {} failed",
            load.ok(),
            load.failed()
        );
    }

    let began = Instant::now();
    let mut gone = BTreeSet::new();
    let mut victims = Vec::new();
    let mut complaints = Vec::new();
    for k in 0..CRASHES {
        // The pace of the crashes, not synchronization: the waits are on log lines.
        tokio::time::sleep_until(began + CRASH_EVERY * k as u32).await;
        wait_live(&server, API, 2, &gone, STEP_TIMEOUT).await;
        assert!(
            loads.iter().all(|load| !load.is_finished()),
            "the load ended before the crashes did (crash {k}): make its bounds wider"
        );
        let (crash, victim) = crash_api_through_the_mesh(&server).await;
        eprintln!(
            "crash {k}: {victim} at {} ms; {}",
            began.elapsed().as_millis(),
            crash.describe()
        );
        // A POST is never retried: the caller learns that the worker died.
        if crash.status() != Some(502) {
            complaints.push(format!(
                "a POST whose callee died should get 502; {}",
                crash.describe()
            ));
        }
        gone.insert(victim.clone());
        victims.push(victim);
    }
    // The last victim's successor, then a little more load on the settled app.
    wait_live(&server, API, 2, &gone, STEP_TIMEOUT).await;
    for load in &loads {
        let ok = load.ok();
        load.wait_ok(ok + 50, Duration::from_secs(5)).await;
    }
    let mut reports = Vec::new();
    for load in loads {
        reports.push(load.finish().await);
    }
    for report in &reports {
        eprintln!("mesh load: {}", report.summary());
    }

    assert!(server.exit_status().is_none(), "spindle exited");
    for report in &reports {
        if report.failed != 0 {
            complaints.push(format!(
                "every mesh GET must succeed through the crashes: {}",
                report.summary()
            ));
        }
        if report.ok < 100 {
            complaints.push(format!(
                "too little load to mean anything: {}",
                report.summary()
            ));
        }
    }
    for victim in &victims {
        let end = server
            .wait_log(
                |line: &LogLine| {
                    (line.is_msg("worker crashed") || line.is_msg("worker exited"))
                        && line.str("worker") == Some(victim.as_str())
                },
                STEP_TIMEOUT,
            )
            .await;
        if !end.is_msg("worker crashed") {
            complaints.push(format!("{victim} should have crashed: {}", end.text));
        }
    }
    assert_none(&server, &complaints);

    // Every successful gateway answer is at least one GET answered 200 by api.
    let ok: usize = reports.iter().map(|r| r.ok).sum();
    let after = gets_ok_reaching(&server, API, before + ok as f64).await;
    eprintln!("api GET 2xx: {before} -> {after} for {ok} successful mesh calls");
}

/// A call to an app that does not exist is answered at once by the mesh: 502
/// `unknown_app` naming it, not a DNS error and not a hang.
#[tokio::test]
async fn an_unknown_app_is_a_quick_502_naming_it() {
    let server = gateway_and_api(1).start().await;
    let mut complaints = Vec::new();
    for client in CLIENTS {
        let call = call(&server, client, "nope", "/whoami").await;
        eprintln!("{}", call.describe());
        if let Err(why) = check_mesh_error(&call, 502, "unknown_app") {
            complaints.push(why);
        } else if call.body()["app"] != "nope" {
            complaints.push(format!(
                "the 502 should name app \"nope\"; {}",
                call.describe()
            ));
        }
        if call.took >= Duration::from_secs(2) {
            complaints.push(format!("not answered quickly; {}", call.describe()));
        }
    }
    assert_none(&server, &complaints);
}

/// `spindle inject` of a GET to api's `/via-fetch?to=<to>` (a mesh call from inside api,
/// without the public port); returns the command's output and its JSON answer.
async fn inject_api_fetch(server: &Running, to: &str) -> (CliOutput, Value) {
    let path = format!("/via-fetch?to={to}&path=%2Fwhoami");
    let out = server.cli(&["inject", API, "GET", &path, "--json"]).await;
    let answer = out.assert_ok().json();
    (out, answer)
}

/// `policies.deny: {gateway: [api]}` forbids calls between the two in both directions
/// (403 `denied` naming both), the callee never sees them, and other pairs are unaffected.
#[tokio::test]
async fn a_deny_policy_forbids_the_pair_both_ways_and_nothing_else() {
    let server = gateway_and_api(1)
        .app("other", fixture("mesh-api"))
        .env("MESH_APP_ID", "other")
        .config_json(json!({"policies": {"deny": {"gateway": ["api"]}}}))
        .start()
        .await;
    let api_before = server.requests_total(API, &[]).await;
    let other_before = api_gets_ok(&server, "other").await;

    let mut complaints = Vec::new();
    for client in CLIENTS {
        let call = call(&server, client, API, "/whoami").await;
        eprintln!("{}", call.describe());
        if let Err(why) = check_mesh_error(&call, 403, "denied") {
            complaints.push(why);
        } else if call.body()["from"] != GATEWAY || call.body()["to"] != API {
            complaints.push(format!(
                "the 403 should name from \"gateway\" and to \"api\"; {}",
                call.describe()
            ));
        }
    }
    // The gateway may still call another app.
    let allowed = call(&server, "fetch", "other", "/whoami").await;
    eprintln!("{}", allowed.describe());
    if allowed.status() != Some(200) || allowed.body()["app"] != "other" {
        complaints.push(format!(
            "gateway -> other is not denied; {}",
            allowed.describe()
        ));
    }
    assert_none(&server, &complaints);

    // `other`'s counter is the barrier: once it shows the allowed call (made after the
    // denied ones), a denied call that reached api would show in api's.
    gets_ok_reaching(&server, "other", other_before + 1.0).await;
    let api_total = server.requests_total(API, &[]).await;
    assert_eq!(
        api_total, api_before,
        "api counted requests although every call to it was denied"
    );

    // The other direction: api -> gateway, from inside api (reached with `spindle inject`,
    // which goes to any app without the public port).
    let (out, answer) = inject_api_fetch(&server, "gateway").await;
    assert_eq!(answer["status"], 200, "{}", out.describe());
    let report: Value = serde_json::from_str(answer["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|err| panic!("api's answer is not JSON ({err}): {}", out.describe()));
    assert_eq!(
        report["status"], 403,
        "api -> gateway must be denied too: {report}"
    );
    assert_eq!(report["body"]["error"], "denied", "{report}");
    assert_eq!(report["body"]["from"], API, "{report}");
    assert_eq!(report["body"]["to"], GATEWAY, "{report}");

    let (out, answer) = inject_api_fetch(&server, "other").await;
    let report: Value =
        serde_json::from_str(answer["body"].as_str().unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(
        report["status"],
        200,
        "api -> other is not denied: {}",
        out.describe()
    );
    assert_eq!(report["body"]["app"], "other", "{report}");
}

/// A callee that does not answer within `applicationTimeout` gets the caller a 504
/// `timeout` after about that long; the callee's other requests are unaffected.
#[tokio::test]
async fn a_callee_slower_than_application_timeout_is_a_504() {
    const TIMEOUT_MS: u64 = 500;
    let server = gateway_and_api(1)
        .config_json(json!({"applicationTimeout": TIMEOUT_MS}))
        .start()
        .await;
    let mark = server.log_mark();

    let hung = call(&server, "fetch", API, "/hang-forever").await;
    eprintln!("{}", hung.describe());
    // The request did reach api (the 504 is about the callee, not the route).
    trigger_worker(&server, mark, "hang-forever").await;
    let mut complaints = Vec::new();
    if let Err(why) = check_mesh_error(&hung, 504, "timeout") {
        complaints.push(why);
    }
    let took = hung.took;
    if took < Duration::from_millis(TIMEOUT_MS - 50) || took > Duration::from_secs(3) {
        complaints.push(format!(
            "the 504 should come after about {TIMEOUT_MS} ms (0.45-3 s); {}",
            hung.describe()
        ));
    }
    // A call that answers within the timeout is not cut, and api still serves.
    let fast = call(&server, "fetch", API, "/slow?ms=100").await;
    if fast.status() != Some(200) || fast.body()["app"] != API {
        complaints.push(format!("a 100 ms call should pass; {}", fast.describe()));
    }
    assert_none(&server, &complaints);
}

/// A callee with no Ready worker: the call waits in the callee's queue for its
/// `queueTimeout`, then gets a 503 naming the app, as public traffic would; once a worker
/// is Ready again, calls succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_without_a_ready_worker_is_a_503_after_its_queue_timeout() {
    const QUEUE_TIMEOUT_MS: u64 = 800;
    let state = TempDir::new();
    let fail_file = state.path().join("api-fails-at-load");
    let server = TestServer::new()
        .app(GATEWAY, fixture("mesh-gateway"))
        .app(API, fixture("mesh-api"))
        .env(
            "CRASH_AT_LOAD_IF",
            fail_file.to_str().expect("utf-8 temp path"),
        )
        .app_config(json!({"queueTimeout": QUEUE_TIMEOUT_MS, "maxFailedStarts": 100}))
        .entrypoint(GATEWAY)
        .start()
        .await;
    wait_live(&server, API, 1, &BTreeSet::new(), READY_TIMEOUT).await;

    // From now on every new api worker fails at load: after the crash, none is Ready.
    std::fs::write(&fail_file, b"fail").expect("write the fail file");
    let (crash, victim) = crash_api_through_the_mesh(&server).await;
    eprintln!("{}", crash.describe());
    let crashed_at = server
        .wait_log(
            |line| line.is_msg("worker crashed") && line.str("worker") == Some(victim.as_str()),
            STEP_TIMEOUT,
        )
        .await;
    let mark = server.log_mark();

    let queued = call(&server, "fetch", API, "/whoami").await;
    eprintln!("{}", queued.describe());
    let mut complaints = Vec::new();
    if let Err(why) = check_mesh_error_status(&queued, 503) {
        complaints.push(why);
    } else if queued.body()["app"] != API {
        complaints.push(format!(
            "the 503 should name app \"api\"; {}",
            queued.describe()
        ));
    }
    if queued.took < Duration::from_millis(QUEUE_TIMEOUT_MS - 100)
        || queued.took > Duration::from_millis(QUEUE_TIMEOUT_MS + 3000)
    {
        complaints.push(format!(
            "the 503 should come after about the queueTimeout of {QUEUE_TIMEOUT_MS} ms; {}",
            queued.describe()
        ));
    }
    if let Some(line) = server
        .logs()
        .iter()
        .skip(mark)
        .find(|line| line.is_msg("worker ready") && line.is_app(API))
    {
        // Then the premise did not hold: say so rather than blame the queue.
        server.fail(&format!(
            "an api worker became ready while none should (after {}): {}",
            crashed_at.text, line.text
        ));
    }
    assert_none(&server, &complaints);

    // Let workers start again: calls succeed once one is Ready.
    std::fs::remove_file(&fail_file).expect("remove the fail file");
    wait_live(&server, API, 1, &BTreeSet::from([victim]), READY_TIMEOUT).await;
    let back = call(&server, "http", API, "/whoami").await;
    assert!(
        back.status() == Some(200) && back.body()["app"] == API,
        "after a worker is Ready again: {}",
        back.describe()
    );
}

/// Like [`check_mesh_error`] for the status only (the 503 body's `error` is the queue's).
fn check_mesh_error_status(call: &Call, status: u64) -> Result<(), String> {
    if call.status() == Some(status) && call.body().is_object() {
        Ok(())
    } else {
        Err(format!(
            "expected the callee's {status} with a JSON body; {}",
            call.describe()
        ))
    }
}

/// `dependencies`, as Watt orders its start: the gateway's workers start only once every
/// worker of the api it depends on is ready, and it then serves calls to it.
#[tokio::test]
async fn an_app_starts_after_the_apps_it_depends_on() {
    let server = TestServer::new()
        .app(GATEWAY, fixture("mesh-gateway"))
        .app_config(serde_json::json!({"dependencies": [API]}))
        .app(API, fixture("mesh-api"))
        .workers(2)
        .entrypoint(GATEWAY)
        .start()
        .await;
    wait_live(&server, GATEWAY, 1, &BTreeSet::new(), READY_TIMEOUT).await;
    let logs = server.logs();
    let position = |wanted: &dyn Fn(&LogLine) -> bool| logs.iter().position(wanted);
    let waiting =
        position(&|l| l.is_msg("waiting for its dependencies to start") && l.is_app(GATEWAY));
    assert!(waiting.is_some(), "the gateway said it waits");
    let api_ready: Vec<usize> = logs
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_msg("worker ready") && l.is_app(API))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(api_ready.len(), 2, "both api workers ready");
    let gateway_starts =
        position(&|l| l.is_msg("its dependencies have started: starting") && l.is_app(GATEWAY))
            .expect("the gateway was started");
    assert!(
        api_ready.iter().all(|i| *i < gateway_starts),
        "the gateway started before every api worker was ready"
    );
    let gateway_ready = position(&|l| l.is_msg("worker ready") && l.is_app(GATEWAY)).unwrap();
    assert!(gateway_ready > gateway_starts);
    // And it serves, calling the api over the mesh.
    let res = spindle_e2e::client::get(&format!(
        "{}/via-fetch?to=api&path=%2Fwhoami&strict=1",
        server.url()
    ))
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}
