//! The public port against clients that misbehave: each gets its answer or its close
//! within its timeout (`server.headersTimeout`, `keepAliveTimeout`, `bodyTimeout`, an
//! app's `responseTimeout`), limits hold (`maxConnections`, `maxBodySize`), forwarding
//! headers are believed only from trusted proxies (`trustProxy`), and well-behaved
//! clients running at the same time are all served. Timeouts are set short here so that
//! each test waits for the server's own deadline, not for a sleep of its own.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spindle_e2e::client::{self, get_json, poll};
use spindle_e2e::datapath_fixture::wait_event;
use spindle_e2e::raw::{Ending, RawConn, RawResponse};
use spindle_e2e::{fixture, Running, TestServer, STEP_TIMEOUT};

const HEAD_MS: u64 = 400;
const KEEP_ALIVE_MS: u64 = 300;
const BODY_MS: u64 = 400;
const RESPONSE_MS: u64 = 500;

/// The datapath fixture, one worker, short timeouts, and `server` keys over them.
async fn start_with(server: Value) -> Running {
    start_with_response_timeout(server, RESPONSE_MS).await
}

/// [`start_with`], with the app's `responseTimeout` in ms.
async fn start_with_response_timeout(server: Value, response_ms: u64) -> Running {
    let mut keys = json!({
        "headersTimeout": HEAD_MS,
        "keepAliveTimeout": KEEP_ALIVE_MS,
        "bodyTimeout": BODY_MS,
    });
    if let (Some(keys), Value::Object(more)) = (keys.as_object_mut(), server) {
        keys.extend(more);
    }
    TestServer::new()
        .app("web", fixture("datapath"))
        .workers(1)
        .app_config(json!({"responseTimeout": response_ms}))
        .config_json(json!({"server": keys}))
        .start()
        .await
}

async fn start() -> Running {
    start_with(json!({})).await
}

/// [`start`], and a raw connection to it.
async fn start_and_connect() -> (Running, RawConn) {
    let server = start().await;
    let conn = RawConn::connect(server.addr()).await;
    (server, conn)
}

fn get(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// The connection stays open and quiet for a while, then the server ends it: closed
/// after at least `at_least` since `since`, and within the step timeout.
async fn assert_closed_after(
    conn: &mut RawConn,
    since: Instant,
    at_least: Duration,
    context: &str,
) {
    match conn.ending(STEP_TIMEOUT).await {
        Ending::Closed | Ending::Reset => {}
        other => panic!("{context}: expected the server to close the connection, got {other:?}"),
    }
    let took = since.elapsed();
    assert!(
        took >= at_least,
        "{context}: closed after {took:?}, before its timeout of {at_least:?}"
    );
}

/// A small margin under a timeout: the server's clock starts a little after ours.
fn under(ms: u64) -> Duration {
    Duration::from_millis(ms * 3 / 4)
}

#[tokio::test]
async fn a_head_that_never_ends_gets_408_within_the_head_timeout() {
    let (server, mut conn) = start_and_connect().await;
    let since = Instant::now();
    conn.send("GET /probe?tag=slowloris HTTP/1.1\r\nHost: test\r\nX-A: 1\r\n")
        .await;
    let response = conn.response(false).await;
    let took = since.elapsed();
    assert_eq!(response.status, 408, "{response:?}");
    assert_eq!(response.json()["error"], "request_timeout", "{response:?}");
    assert!(response.connection_has("close"), "{response:?}");
    assert!(
        response.text().contains("headersTimeout"),
        "the answer names the timeout: {response:?}"
    );
    assert!(
        took >= under(HEAD_MS),
        "408 after {took:?}, before the timeout"
    );
    conn.assert_closed("after the 408").await;
    let seen = get_json(&format!("{}/__seen", server.url())).await;
    assert!(
        !seen["urls"].to_string().contains("slowloris"),
        "the app saw the unfinished head: {seen}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_without_a_word() {
    let (_server, mut conn) = start_and_connect().await;
    let since = Instant::now();
    assert_closed_after(&mut conn, since, under(HEAD_MS), "a silent connection").await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not() {
    let (_server, mut conn) = start_and_connect().await;
    // Busy: a request every 100 ms for twice the keep-alive timeout (and at least 3,
    // however slow a loaded machine answers), on one connection.
    let busy_for = Instant::now();
    let mut served = 0;
    let last_answer = loop {
        conn.send(get(&format!("/probe?tag=busy-{served}"))).await;
        let response = conn.response(false).await;
        // The server's idle clock starts with its answer, not after our pause.
        let answered = Instant::now();
        assert_eq!(response.status, 200, "request {served}: {response:?}");
        served += 1;
        let busy_long_enough =
            busy_for.elapsed() >= Duration::from_millis(KEEP_ALIVE_MS * 2) && served >= 3;
        if busy_long_enough || served >= 50 {
            break answered;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Then idle: closed after the keep-alive timeout, with nothing sent.
    let since = last_answer;
    assert_closed_after(&mut conn, since, under(KEEP_ALIVE_MS), "an idle keep-alive").await;
}

#[tokio::test]
async fn a_request_body_that_stops_gets_408_and_the_apps_request_is_cancelled() {
    let (server, mut conn) = start_and_connect().await;
    let since = Instant::now();
    conn.send(
        "POST /hold?tag=slow-body HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n0123456789",
    )
    .await;
    let response = conn.response(false).await;
    let took = since.elapsed();
    assert_eq!(response.status, 408, "{response:?}");
    assert!(response.text().contains("bodyTimeout"), "{response:?}");
    assert!(
        took >= under(BODY_MS),
        "408 after {took:?}, before the timeout"
    );
    conn.assert_closed("after the 408").await;
    let events = wait_event(&server, "slow-body", "res close before end").await;
    assert!(
        events.contains(&"body".to_string()),
        "the app got the first bytes: {events:?}"
    );
}

#[tokio::test]
async fn an_answer_that_does_not_begin_in_time_gets_504_naming_app_and_worker() {
    let server = start().await;
    let since = Instant::now();
    let response = client::get(&format!("{}/hold?tag=late", server.url())).await;
    let took = since.elapsed();
    assert_eq!(response.status.as_u16(), 504, "{}", response.text());
    let body = response.json();
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("\"web\""), "the app is named: {body}");
    assert!(
        message.contains("web:0") || message.contains("worker"),
        "the worker is named: {body}"
    );
    assert!(
        took >= under(RESPONSE_MS),
        "504 after {took:?}, before the timeout"
    );
    // The app's request is cancelled, not left to run on.
    wait_event(&server, "late", "res close before end").await;
}

#[tokio::test]
async fn an_answer_body_that_stalls_is_ended() {
    let (server, mut conn) = start_and_connect().await;
    conn.send(get("/stall?tag=stall")).await;
    let head = conn.head().await;
    assert_eq!(head.status, 200, "{head:?}");
    let since = Instant::now();
    let first = conn.read_bytes(5).await;
    assert_eq!(first, b"first");
    assert_closed_after(&mut conn, since, under(BODY_MS), "a stalled answer").await;
    wait_event(&server, "stall", "closed while stalled").await;
}

#[tokio::test]
async fn a_client_that_never_reads_its_answer_is_let_go() {
    let server = start().await;
    let mut conn = RawConn::connect_with_recv_buffer(server.addr(), 64 * 1024).await;
    conn.send(get("/stream?mb=64&tag=never-reads")).await;
    // The client reads nothing at all; the app's stream is stopped by the core once the
    // answer has not moved for the body timeout.
    let events = wait_event(&server, "never-reads", "closed after").await;
    assert!(
        !events.iter().any(|e| e == "finished"),
        "the app could not have finished: {events:?}"
    );
    // Others are served meanwhile and after.
    let response = client::get(&format!("{}/probe?tag=other", server.url())).await;
    assert_eq!(response.status.as_u16(), 200);
}

#[tokio::test]
async fn past_max_connections_new_ones_wait_and_open_ones_are_unharmed() {
    // Long idle timeouts, so that only the cap decides here.
    let server = start_with(json!({
        "maxConnections": 3,
        "headersTimeout": 30_000,
        "keepAliveTimeout": 30_000,
    }))
    .await;
    let mut open = Vec::new();
    for i in 0..3 {
        let mut conn = RawConn::connect(server.addr()).await;
        conn.send(get(&format!("/probe?tag=held-{i}"))).await;
        assert_eq!(conn.response(false).await.status, 200);
        open.push(conn);
    }
    // The fourth connects (the kernel's backlog holds it) but is not served yet.
    let mut waiting = RawConn::connect(server.addr()).await;
    waiting.send(get("/probe?tag=fourth")).await;
    waiting
        .assert_open_and_quiet(Duration::from_millis(300), "a connection past the cap")
        .await;
    // The open ones go on as before.
    open[1].send(get("/probe?tag=held-again")).await;
    assert_eq!(open[1].response(false).await.status, 200);
    // One closes: the fourth is taken and answered.
    drop(open.remove(0));
    let response = waiting.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
}

/// POSTs a body of `len` bytes (with its content-length) to `/probe?tag=<tag>` on a new
/// connection; returns the connection and the answer.
async fn post_probe(server: &Running, tag: &str, len: usize) -> (RawConn, RawResponse) {
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(format!(
        "POST /probe?tag={tag} HTTP/1.1\r\nHost: test\r\nContent-Length: {len}\r\n\r\n{}",
        "x".repeat(len)
    ))
    .await;
    let response = conn.response(false).await;
    (conn, response)
}

#[tokio::test]
async fn a_body_larger_than_max_body_size_gets_413() {
    let server = start_with(json!({"maxBodySize": 1000})).await;
    // Declared too large: refused before the app hears of it.
    let (mut conn, response) = post_probe(&server, "too-large", 2000).await;
    assert_eq!(response.status, 413, "{response:?}");
    assert_eq!(response.json()["error"], "too_large", "{response:?}");
    assert!(response.text().contains("maxBodySize"), "{response:?}");
    conn.assert_closed("after the 413").await;

    // Chunked, found too large on the way: 413 and the app's request cancelled.
    let mut conn = RawConn::connect(server.addr()).await;
    let chunk = format!("258\r\n{}\r\n", "y".repeat(600));
    conn.send(format!(
        "POST /hold?tag=too-large-chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}"
    ))
    .await;
    wait_event(&server, "too-large-chunked", "body").await;
    conn.send(&chunk).await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 413, "{response:?}");
    conn.assert_closed("after the chunked 413").await;
    wait_event(&server, "too-large-chunked", "res close before end").await;

    // Chunked, too large already with its head: refused before the app hears of it.
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(format!(
        "POST /probe?tag=too-large-at-once HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}"
    ))
    .await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 413, "{response:?}");
    conn.assert_closed("after the second chunked 413").await;

    // At the limit: served.
    let (_, response) = post_probe(&server, "at-limit", 1000).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json()["bytes"], 1000);
    let seen = get_json(&format!("{}/__seen", server.url())).await["urls"].to_string();
    assert!(
        !seen.contains("tag=too-large&") && !seen.contains("tag=too-large\""),
        "{seen}"
    );
    assert!(!seen.contains("too-large-at-once"), "{seen}");
}

/// What the app saw of a request carrying a client's claims about earlier hops.
async fn forwarded(server: &Running) -> (Value, String) {
    let mut conn = RawConn::connect(server.addr()).await;
    let peer = conn.local_addr().ip().to_string();
    conn.send(
        "GET /probe?tag=claims HTTP/1.1\r\nHost: app.test\r\n\
         X-Forwarded-For: 6.6.6.6, 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\
         X-Forwarded-Host: shop.example\r\nForwarded: for=203.0.113.9;proto=https\r\n\r\n",
    )
    .await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    (response.json()["headers"].clone(), peer)
}

#[tokio::test]
async fn forwarding_headers_are_believed_only_from_trusted_proxies() {
    let untrusting = start().await;
    let (headers, peer) = forwarded(&untrusting).await;
    assert_eq!(headers["x-forwarded-for"], peer, "replaced: {headers}");
    assert_eq!(headers["x-forwarded-proto"], "http", "{headers}");
    assert_eq!(headers["x-forwarded-host"], "app.test", "{headers}");
    assert!(headers.get("forwarded").is_none(), "{headers}");
    drop(untrusting);

    // Trusting the loopback peer and one hop: the load balancer's view is kept.
    let trusting = start_with(json!({"trustProxy": 1})).await;
    let (headers, peer) = forwarded(&trusting).await;
    assert_eq!(
        headers["x-forwarded-for"],
        format!("203.0.113.9, {peer}"),
        "the hop the proxy vouches for, then the proxy: {headers}"
    );
    assert_eq!(headers["x-forwarded-proto"], "https", "{headers}");
    assert_eq!(headers["x-forwarded-host"], "shop.example", "{headers}");
    let fwd = headers["forwarded"].as_str().unwrap_or_default();
    assert!(
        fwd.starts_with("for=203.0.113.9;proto=https") && fwd.contains(&format!("for={peer}")),
        "kept and extended: {headers}"
    );
}

/// What a misbehaving client does, for the mixed test.
async fn misbehave(addr: String, url: String, kind: usize) {
    if kind % 6 == 5 {
        // Never reads a large answer: the app's stream is closed by the core.
        let mut conn = RawConn::connect_with_recv_buffer(&addr, 64 * 1024).await;
        let tag = format!("mixed-never-reads-{kind}");
        conn.send(get(&format!("/stream?mb=16&tag={tag}"))).await;
        let closed = poll(STEP_TIMEOUT, || async {
            let events = get_json(&format!("{url}/__events?tag={tag}")).await;
            events.to_string().contains("closed after").then_some(())
        })
        .await;
        assert!(closed.is_some(), "bad client {kind} was never let go");
        return;
    }
    let mut conn = RawConn::connect(&addr).await;
    match kind % 6 {
        // Slowloris: a head that never ends.
        0 => conn.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n").await,
        // A body that stops (to a handler that waits for all of it).
        1 => {
            let head = format!("POST /hold?tag=mixed-slow-{kind} HTTP/1.1\r\nHost: x\r\n");
            conn.send(format!("{head}Content-Length: 50\r\n\r\nabc")).await
        }
        // Nothing at all.
        2 => {}
        // Garbage.
        3 => conn.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n").await,
        // Smuggling: Content-Length with Transfer-Encoding.
        4 => {
            conn.send(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            .await
        }
        _ => unreachable!("handled above"),
    }
    // Every one of them ends within the timeouts.
    let ending = conn.ending(STEP_TIMEOUT).await;
    assert_ne!(ending, Ending::Open, "bad client {kind} was never let go");
    if kind % 6 == 1 {
        // And the app's side of it too.
        let tag = format!("mixed-slow-{kind}");
        let cancelled = poll(STEP_TIMEOUT, || async {
            let events = get_json(&format!("{url}/__events?tag={tag}")).await;
            events
                .to_string()
                .contains("res close before end")
                .then_some(())
        })
        .await;
        assert!(
            cancelled.is_some(),
            "bad client {kind}: the app's request was left open"
        );
    }
}

#[tokio::test]
async fn well_behaved_clients_are_all_served_while_bad_ones_misbehave() {
    // The short edge timeouts, but not the short response timeout: 40 clients on a loaded
    // machine may keep the one worker from answering a probe within 500 ms, and the
    // response timeout is not what this test is about.
    let server = start_with_response_timeout(json!({}), 10 * RESPONSE_MS).await;
    let bad: Vec<_> = (0..36)
        .map(|k| {
            tokio::spawn(misbehave(
                server.addr().to_string(),
                server.url().to_string(),
                k,
            ))
        })
        .collect();
    // Good clients: bounded in count and time, every one answered.
    let url = server.url().to_string();
    let good: Vec<_> = (0..4)
        .map(|c| {
            let url = url.clone();
            tokio::spawn(async move {
                let until = Instant::now() + Duration::from_millis(BODY_MS * 3);
                let mut served = 0;
                while Instant::now() < until && served < 500 {
                    let response = client::get(&format!("{url}/probe?tag=good-{c}-{served}")).await;
                    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
                    served += 1;
                }
                served
            })
        })
        .collect();
    let mut total = 0;
    for g in good {
        total += g.await.expect("a good client failed");
    }
    for b in bad {
        b.await.expect("a bad client was not let go");
    }
    assert!(total > 0);
    let seen = get_json(&format!("{}/__seen", server.url())).await;
    assert!(
        !seen["urls"].to_string().contains("smuggled"),
        "a smuggled request got through: {seen}"
    );
}
