//! The data path's guarantees, on the wire: the core owns client connections, parses
//! their heads itself (strictly, RFC 9112) and carries each request to a worker thread
//! as a virtual connection. Requests are written as raw bytes where the bytes are the
//! point; the `datapath` fixture reports what reached the app (`/__seen`), what became
//! of a request it held (`/__events`), how much it streamed (`/__written`) and how many
//! connections it has open (`/__sockets`).

use std::time::Duration;

use http::StatusCode;
use serde_json::Value;
use spindle_e2e::client::{self, get_json, poll};
use spindle_e2e::datapath_fixture::{
    events, has_tag, seen, wait_event, wait_event_of, wait_open_sockets_at_most,
};
use spindle_e2e::raw::{Ending, RawConn};
use spindle_e2e::{fixture, Running, TestServer, STEP_TIMEOUT};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// The datapath fixture with one worker, so that its records are the whole app's.
async fn start() -> Running {
    TestServer::new()
        .app("web", fixture("datapath"))
        .workers(1)
        .start()
        .await
}

/// A GET with a Host header, as bytes on the wire.
fn get(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// A request tagged `tag` after the refused one, on a connection of its own: had the
/// refused one reached the app, it would have arrived first. The app must have seen
/// exactly this one since `before`.
async fn assert_app_did_not_see(server: &Running, tag: &str, before: u64) {
    let after = format!("{tag}-after");
    let response = client::get(&format!("{}/probe?tag={after}", server.url())).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let (count, urls) = seen(server).await;
    assert!(has_tag(&urls, &after), "the app saw no {after}: {urls:?}");
    assert!(
        !has_tag(&urls, tag),
        "the refused request {tag} reached the app: {urls:?}"
    );
    assert_eq!(
        count,
        before + 1,
        "only the request after {tag} may have reached the app since: {urls:?}"
    );
}

/// Sends `request` (its target tagged `tag`) on a new connection and checks that it is
/// refused: `status`, `connection: close`, a JSON body whose message mentions `reason`,
/// nothing after it, the connection closed; and that the app never saw it.
async fn assert_refused(
    server: &Running,
    tag: &str,
    request: impl AsRef<[u8]>,
    status: u16,
    reason: &str,
) {
    let (before, _) = seen(server).await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(request).await;
    let response = conn.response(false).await;
    assert_eq!(response.status, status, "{tag}: {response:?}");
    assert!(
        response.connection_has("close"),
        "{tag}: a refusal says it closes: {response:?}"
    );
    let body = response.json();
    assert_eq!(body["error"], "bad_request", "{tag}: {response:?}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(reason),
        "{tag}: the message should say {reason:?}: {response:?}"
    );
    conn.assert_closed(tag).await;
    assert_app_did_not_see(server, tag, before).await;
}

// ---- 1. Strict framing on the public port ----

#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused() {
    let server = start().await;
    // The classic smuggling shape: by its length the body is "0\r\n\r\nGET /smuggled…",
    // by chunked it ends at "0\r\n\r\n". Neither request may reach the app.
    let smuggled = "GET /smuggled?tag=cl-te-smuggled HTTP/1.1\r\nHost: test\r\n\r\n";
    let body = format!("0\r\n\r\n{smuggled}");
    let request = format!(
        "POST /probe?tag=cl-te HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    assert_refused(
        &server,
        "cl-te",
        request,
        400,
        "content-length with transfer-encoding",
    )
    .await;
    let (_, urls) = seen(&server).await;
    assert!(!has_tag(&urls, "cl-te-smuggled"), "{urls:?}");
}

#[tokio::test]
async fn two_different_content_lengths_are_refused() {
    let server = start().await;
    assert_refused(
        &server,
        "two-lengths",
        "POST /probe?tag=two-lengths HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\
         Content-Length: 6\r\n\r\nhello!",
        400,
        "content-length",
    )
    .await;
    assert_refused(
        &server,
        "two-lengths-in-one",
        "POST /probe?tag=two-lengths-in-one HTTP/1.1\r\nHost: test\r\nContent-Length: 5, 6\r\n\r\nhello!",
        400,
        "content-length",
    )
    .await;

    // The same length twice means one thing: served, and the app gets one plain length.
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(
        "POST /probe?tag=same-lengths HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\
         Content-Length: 5, 5\r\n\r\nhello",
    )
    .await;
    let body = conn.response(false).await.json();
    assert_eq!(body["body"], "hello", "{body}");
    let lengths: Vec<&Value> = body["rawHeaders"]
        .as_array()
        .expect("rawHeaders")
        .chunks(2)
        .filter(|pair| {
            pair[0]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("content-length"))
        })
        .map(|pair| &pair[1])
        .collect();
    assert_eq!(lengths, [&Value::from("5")], "{body}");
}

#[tokio::test]
async fn transfer_encoding_not_ending_in_chunked_is_refused() {
    let server = start().await;
    for (tag, codings) in [
        ("te-gzip", "gzip"),
        ("te-chunked-gzip", "chunked, gzip"),
        ("te-chunked-twice", "chunked, chunked"),
    ] {
        let request = format!(
            "POST /probe?tag={tag} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: {codings}\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n"
        );
        assert_refused(&server, tag, request, 400, "transfer-encoding").await;
    }
}

#[tokio::test]
async fn a_bad_chunk_size_with_the_head_is_refused_before_the_app_sees_it() {
    let server = start().await;
    assert_refused(
        &server,
        "bad-chunk",
        "POST /probe?tag=bad-chunk HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         zz\r\nhello\r\n0\r\n\r\n",
        400,
        "chunk",
    )
    .await;
}

/// The head went to the app, then the body breaks its framing: the client gets a 400
/// (the app has not answered yet) and the connection closes; the app's request is
/// cancelled, not left waiting for a body that will not come.
#[tokio::test]
async fn a_bad_chunk_size_after_the_head_gets_400_and_cancels_the_apps_request() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(
        "POST /hold?tag=late-bad-chunk HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n",
    )
    .await;
    wait_event(&server, "late-bad-chunk", "body").await;

    conn.send("zz\r\nworld\r\n").await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert!(response.connection_has("close"), "{response:?}");
    assert!(
        response.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("chunk")),
        "{response:?}"
    );
    conn.assert_closed("after a bad chunk").await;

    let events = wait_event(&server, "late-bad-chunk", "res close").await;
    assert!(
        events.iter().any(|e| e == "res close before end"),
        "the app's request ends without an answer: {events:?}"
    );
    assert!(
        events.iter().any(|e| e.ends_with("complete false")),
        "the app never saw a complete body: {events:?}"
    );
}

#[tokio::test]
async fn obs_fold_is_refused() {
    let server = start().await;
    assert_refused(
        &server,
        "obs-fold",
        "GET /probe?tag=obs-fold HTTP/1.1\r\nHost: test\r\nX-Folded: one\r\n two\r\n\r\n",
        400,
        "obs-fold",
    )
    .await;
    assert_refused(
        &server,
        "obs-fold-tab",
        "GET /probe?tag=obs-fold-tab HTTP/1.1\r\nHost: test\r\nX-Folded: one\r\n\ttwo\r\n\r\n",
        400,
        "obs-fold",
    )
    .await;
}

#[tokio::test]
async fn a_bare_cr_in_the_head_is_refused() {
    let server = start().await;
    assert_refused(
        &server,
        "cr-in-value",
        "GET /probe?tag=cr-in-value HTTP/1.1\r\nHost: test\r\nX-A: one\rX-B: two\r\n\r\n",
        400,
        "",
    )
    .await;
    assert_refused(
        &server,
        "cr-after-version",
        "GET /probe?tag=cr-after-version HTTP/1.1\rHost: test\r\n\r\n",
        400,
        "",
    )
    .await;
    assert_refused(
        &server,
        "cr-after-name",
        "GET /probe?tag=cr-after-name HTTP/1.1\r\nHost: test\r\nX-A\r: one\r\n\r\n",
        400,
        "",
    )
    .await;
}

#[tokio::test]
async fn a_bare_lf_in_the_head_is_refused() {
    let server = start().await;
    assert_refused(
        &server,
        "lf-everywhere",
        "GET /probe?tag=lf-everywhere HTTP/1.1\nHost: test\n\n",
        400,
        "lf",
    )
    .await;
    assert_refused(
        &server,
        "lf-one-line",
        "GET /probe?tag=lf-one-line HTTP/1.1\r\nHost: test\nX-A: one\r\n\r\n",
        400,
        "lf",
    )
    .await;
    assert_refused(
        &server,
        "lf-at-the-end",
        "GET /probe?tag=lf-at-the-end HTTP/1.1\r\nHost: test\r\n\n",
        400,
        "lf",
    )
    .await;
}

#[tokio::test]
async fn too_many_headers_are_refused_with_431() {
    let server = start().await;
    let mut request = String::from("GET /probe?tag=many-headers HTTP/1.1\r\nHost: test\r\n");
    for i in 0..100 {
        request.push_str(&format!("X-H-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    assert_refused(&server, "many-headers", request, 431, "too many headers").await;

    // 100 in all is the limit, and is served.
    let mut request = String::from("GET /probe?tag=hundred-headers HTTP/1.1\r\nHost: test\r\n");
    for i in 0..99 {
        request.push_str(&format!("X-H-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(request).await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn a_head_too_large_is_refused_with_431() {
    let server = start().await;
    // About 72 KiB of header lines, few enough of them; the limit is 64 KiB.
    let mut request = String::from("GET /probe?tag=large-head HTTP/1.1\r\nHost: test\r\n");
    for i in 0..9 {
        request.push_str(&format!("X-Pad-{i}: {}\r\n", "a".repeat(8000)));
    }
    request.push_str("\r\n");
    assert_refused(&server, "large-head", request, 431, "too large").await;
}

#[tokio::test]
async fn a_target_too_long_is_refused_with_414() {
    let server = start().await;
    let target = format!("/probe?tag=long-target&pad={}", "a".repeat(9000));
    assert_refused(&server, "long-target", get(&target), 414, "target").await;
}

#[tokio::test]
async fn http11_without_host_is_refused() {
    let server = start().await;
    assert_refused(
        &server,
        "no-host",
        "GET /probe?tag=no-host HTTP/1.1\r\nX-A: 1\r\n\r\n",
        400,
        "host",
    )
    .await;
    assert_refused(
        &server,
        "two-hosts",
        "GET /probe?tag=two-hosts HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
        "host",
    )
    .await;
    for (tag, host) in [
        ("host-space", "a b"),
        ("host-userinfo", "user@a"),
        ("host-path", "a/b"),
    ] {
        let request = format!("GET /probe?tag={tag} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_refused(&server, tag, request, 400, "host").await;
    }
}

#[tokio::test]
async fn other_framing_the_app_could_read_otherwise_is_refused() {
    let server = start().await;
    assert_refused(
        &server,
        "te-in-http10",
        "POST /probe?tag=te-in-http10 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "transfer-encoding",
    )
    .await;
    assert_refused(
        &server,
        "signed-length",
        "POST /probe?tag=signed-length HTTP/1.1\r\nHost: test\r\nContent-Length: +5\r\n\r\nhello",
        400,
        "content-length",
    )
    .await;
    assert_refused(
        &server,
        "space-before-colon",
        "GET /probe?tag=space-before-colon HTTP/1.1\r\nHost: test\r\nContent-Length : 5\r\n\r\nhello",
        400,
        "",
    )
    .await;
    assert_refused(
        &server,
        "http12",
        "GET /probe?tag=http12 HTTP/1.2\r\nHost: test\r\n\r\n",
        505,
        "version",
    )
    .await;
    assert_refused(
        &server,
        "connect",
        "CONNECT test:443 HTTP/1.1\r\nHost: test:443\r\n\r\n",
        501,
        "connect",
    )
    .await;
}

/// A refusal after the app was picked (a bad chunk found with the head) must give the
/// virtual connection back: many of them must not leave the app holding as many
/// connections.
#[tokio::test]
async fn refused_bodies_leave_no_virtual_connection_open() {
    let server = start().await;
    for i in 0..20 {
        let mut conn = RawConn::connect(server.addr()).await;
        conn.send(format!(
            "POST /probe?tag=leak-{i} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
             zz\r\nhello\r\n0\r\n\r\n"
        ))
        .await;
        let response = conn.response(false).await;
        assert_eq!(response.status, 400, "{response:?}");
        conn.assert_closed("a refused body").await;
    }
    // The asking connection, and perhaps one pooled beside it.
    wait_open_sockets_at_most(&server, 2, "after 20 refused bodies").await;
}

// ---- 2. The app sees its client ----

#[tokio::test]
async fn the_app_sees_each_clients_address_and_port() {
    let server = start().await;
    let mut a = RawConn::connect(server.addr()).await;
    let mut b = RawConn::connect(server.addr()).await;
    // A, B, A, B on two keep-alive connections: one after the other, so the core may use
    // the same virtual connection for all four, and the app must still see each client.
    for round in 0..2 {
        for conn in [&mut a, &mut b] {
            conn.send(get(&format!("/whoami?round={round}"))).await;
            let response = conn.response(false).await;
            assert_eq!(response.status, 200, "{response:?}");
            let body = response.json();
            let me = conn.local_addr();
            assert_eq!(body["remoteAddress"], me.ip().to_string(), "{body}");
            assert_eq!(body["remotePort"], me.port(), "{body}");
            assert_eq!(body["remoteFamily"], "IPv4", "{body}");
        }
    }
}

#[tokio::test]
async fn forwarded_headers_are_the_cores_not_the_clients() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    let peer = conn.local_addr().ip().to_string();
    conn.send(
        "GET /probe?tag=fwd HTTP/1.1\r\nHost: front.test:8080\r\n\
         X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\
         X-Forwarded-Host: evil.test\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n\
         Connection: keep-alive, x-secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=99\r\n\
         Proxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n",
    )
    .await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    let body = response.json();
    let headers = &body["headers"];
    // Not a trusted proxy (no `server.trustProxy`): its chain is replaced by itself.
    assert_eq!(headers["x-forwarded-for"], peer, "{body}");
    assert_eq!(headers["x-forwarded-proto"], "http", "{body}");
    assert_eq!(headers["x-forwarded-host"], "front.test:8080", "{body}");
    assert_eq!(headers["host"], "front.test:8080", "{body}");
    assert_eq!(headers["x-kept"], "yes", "{body}");
    for gone in ["x-secret", "keep-alive", "proxy-connection", "te"] {
        assert!(headers.get(gone).is_none(), "{gone} is hop-by-hop: {body}");
    }
    // One line each: the core writes them, nothing of the client's is left beside them.
    let raw: Vec<String> = body["rawHeaders"]
        .as_array()
        .expect("rawHeaders")
        .iter()
        .step_by(2)
        .map(|n| n.as_str().unwrap_or_default().to_ascii_lowercase())
        .collect();
    for name in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"] {
        assert_eq!(
            raw.iter().filter(|n| *n == name).count(),
            1,
            "{name}: {raw:?}"
        );
    }

    // Absolute form: the target's authority is the host, the app sees origin form.
    conn.send("GET http://abs.test:9000/abs?tag=fwd-abs HTTP/1.1\r\nHost: other.test\r\n\r\n")
        .await;
    let body = conn.response(false).await.json();
    assert_eq!(body["url"], "/abs?tag=fwd-abs", "{body}");
    assert_eq!(body["headers"]["host"], "abs.test:9000", "{body}");
    assert_eq!(
        body["headers"]["x-forwarded-host"], "abs.test:9000",
        "{body}"
    );
    assert_eq!(body["headers"]["x-forwarded-for"], peer, "{body}");

    // HTTP/1.0 without Host: the app gets one, and no X-Forwarded-Host.
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send("GET /probe?tag=fwd-10 HTTP/1.0\r\n\r\n").await;
    let body = conn.response(false).await.json();
    assert_eq!(body["headers"]["host"], "localhost", "{body}");
    assert!(body["headers"].get("x-forwarded-host").is_none(), "{body}");
    assert_eq!(body["headers"]["x-forwarded-proto"], "http", "{body}");
}

// ---- 3. A client that leaves cancels the app's request ----

#[tokio::test]
async fn a_client_that_leaves_cancels_the_apps_request() {
    let server = start().await;
    for i in 0..10 {
        let tag = format!("leave-{i}");
        let mut conn = RawConn::connect(server.addr()).await;
        conn.send(get(&format!("/hold?tag={tag}"))).await;
        wait_event(&server, &tag, "arrived").await;
        drop(conn);
        let events = wait_event(&server, &tag, "res close").await;
        assert!(
            events.iter().any(|e| e == "res close before end"),
            "{tag}: {events:?}"
        );
    }
    // Every abandoned request's connection was closed on the app's side too.
    wait_open_sockets_at_most(&server, 2, "after 10 abandoned requests").await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_upload_cancels_the_apps_request() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(format!(
        "POST /hold?tag=upload-left HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        8 * MIB
    ))
    .await;
    conn.send(vec![b'u'; 100 * KIB]).await;
    wait_event(&server, "upload-left", "body").await;
    drop(conn);
    let events = wait_event(&server, "upload-left", "res close").await;
    assert!(
        events.iter().any(|e| e == "res close before end"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.ends_with("complete false")),
        "the app learns its body is incomplete: {events:?}"
    );
}

/// A client that leaves while the app streams to it: the app's response closes, and it
/// stops writing. The client leaves after its first MiB, while the app is still writing
/// in bursts (4 KiB at a time) to fill the buffers on the way; where in a burst the core
/// gives the connection up is a race, so several rounds.
#[tokio::test]
async fn a_client_that_leaves_mid_download_stops_the_apps_stream() {
    const ROUNDS: usize = 12;
    const STREAM_MIB: u64 = 256;
    let server = start().await;
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        let tag = format!("download-left-{round}");
        let mut conn = RawConn::connect(server.addr()).await;
        conn.send(get(&format!(
            "/stream?mb={STREAM_MIB}&chunk=4096&tag={tag}"
        )))
        .await;
        let head = conn.head().await;
        assert_eq!(head.status, 200, "{head:?}");
        assert_eq!(conn.read_bytes(MIB).await.len(), MIB);
        drop(conn);
        let events = wait_event_of(&server, &tag, &["closed after", "finished"]).await;
        let written = get_json(&format!("{}/__written?tag={tag}", server.url())).await["written"]
            .as_u64()
            .unwrap_or(0);
        outcomes.push(format!(
            "{tag}: {events:?}, {} KiB written",
            written / KIB as u64
        ));
    }
    // `finished`: the app wrote all 256 MiB for a client that had read 1 and left.
    let finished = outcomes.iter().filter(|o| o.contains("finished")).count();
    assert_eq!(
        finished, 0,
        "the app went on writing after its client left, in {finished} of {ROUNDS} rounds: {outcomes:#?}"
    );
}

// ---- 4. Expect: 100-continue ----

#[tokio::test]
async fn expect_100_continue_comes_before_the_body() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(
        "POST /probe?tag=expect HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n\
         Content-Length: 11\r\n\r\n",
    )
    .await;
    let interim = conn.response(false).await;
    assert_eq!(interim.status, 100, "{interim:?}");
    assert!(interim.head.starts_with("HTTP/1.1 100"), "{interim:?}");

    conn.send("hello world").await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    let body = response.json();
    assert_eq!(body["body"], "hello world", "{body}");
    assert_eq!(body["headers"]["expect"], "100-continue", "{body}");

    // The connection goes on.
    conn.send(get("/probe?tag=after-expect")).await;
    let next = conn.response(false).await;
    assert_eq!(next.json()["url"], "/probe?tag=after-expect");
}

// ---- 5. HEAD, 204 and 304 ----

#[tokio::test]
async fn head_204_and_304_have_no_body_and_the_connection_goes_on() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    // Each answer is read as having no body; any byte of one would be taken for the next
    // response's status line and fail it.
    conn.send("HEAD /probe?tag=head HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let head = conn.response(true).await;
    assert_eq!(head.status, 200, "{head:?}");
    assert!(
        head.header("content-length").is_some_and(|l| l != "0"),
        "a HEAD answer carries the GET's length: {head:?}"
    );

    // No length: for a GET it would be chunked.
    conn.send("HEAD /nolen?kb=64 HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let head = conn.response(true).await;
    assert_eq!(head.status, 200, "{head:?}");

    for code in [204, 304] {
        conn.send(get(&format!("/status?code={code}"))).await;
        let response = conn.response(false).await;
        assert_eq!(response.status, code, "{response:?}");
        assert_eq!(response.header("x-code"), Some(code.to_string().as_str()));
    }

    conn.send(get("/probe?tag=after-no-bodies")).await;
    let last = conn.response(false).await;
    assert_eq!(last.status, 200, "{last:?}");
    assert_eq!(last.json()["url"], "/probe?tag=after-no-bodies");
    conn.assert_open_and_quiet(Duration::from_millis(200), "after the last answer")
        .await;
}

/// An app that writes past its own framing (on the socket itself): the client gets what
/// the head declares, nothing more, and its connection stays usable.
#[tokio::test]
async fn bytes_past_the_framing_of_an_answer_are_not_passed_on() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(get("/raw?kind=204-with-body")).await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(response.header("x-raw"), Some("1"));

    conn.send(get("/raw?kind=length-then-more")).await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"hello", "{response:?}");

    conn.send(get("/probe?tag=after-raw")).await;
    let last = conn.response(false).await;
    assert_eq!(last.status, 200, "{last:?}");
    assert_eq!(last.json()["url"], "/probe?tag=after-raw");
}

// ---- 6. HTTP/1.0 ----

#[tokio::test]
async fn http10_without_keep_alive_is_closed_after_the_answer() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send("GET /probe?tag=http10 HTTP/1.0\r\n\r\n").await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(!response.connection_has("keep-alive"), "{response:?}");
    assert_eq!(response.json()["httpVersion"], "1.0");
    conn.assert_closed("HTTP/1.0 without keep-alive").await;
}

#[tokio::test]
async fn http10_with_keep_alive_keeps_the_connection() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    for i in 0..2 {
        conn.send(format!(
            "GET /probe?tag=http10-ka-{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        ))
        .await;
        let response = conn.response(false).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert!(
            response.connection_has("keep-alive"),
            "an HTTP/1.0 client keeps the connection only when told: {response:?}"
        );
        assert!(response.header("keep-alive").is_none(), "{response:?}");
        assert_eq!(response.json()["url"], format!("/probe?tag=http10-ka-{i}"));
    }
    // The last one without keep-alive: closed after it.
    conn.send("GET /probe?tag=http10-ka-last HTTP/1.0\r\n\r\n")
        .await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    conn.assert_closed("the last HTTP/1.0 request").await;
}

/// byte i of /nolen is i % 251.
fn assert_nolen_body(body: &[u8], kib: usize) {
    assert_eq!(body.len(), kib * KIB, "the whole body");
    if let Some(at) = body
        .iter()
        .enumerate()
        .position(|(i, &b)| b != (i % 251) as u8)
    {
        panic!("wrong byte at {at}");
    }
}

#[tokio::test]
async fn an_http10_answer_without_length_arrives_whole_until_the_close() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send("GET /nolen?kb=2048 HTTP/1.0\r\n\r\n").await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.until_close, "no length, no chunks: {response:?}");
    assert_nolen_body(&response.body, 2048);

    // Keep-alive asked, but an answer without a length can only end with the connection.
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send("GET /nolen?kb=300 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.until_close, "{response:?}");
    assert!(!response.connection_has("keep-alive"), "{response:?}");
    assert_nolen_body(&response.body, 300);

    // The same over HTTP/1.1 is chunked, and the connection goes on.
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(get("/nolen?kb=300")).await;
    let response = conn.response(false).await;
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_nolen_body(&response.body, 300);
    conn.send(get("/probe?tag=after-chunked")).await;
    assert_eq!(conn.response(false).await.status, 200);
}

// ---- 7. Pipelining ----

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    let requests = [
        // The slowest first: the others must still wait their turn.
        "GET /slow?ms=150&tag=p1 HTTP/1.1\r\nHost: test\r\n\r\n",
        "POST /probe?tag=p2 HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello",
        "HEAD /probe?tag=p3 HTTP/1.1\r\nHost: test\r\n\r\n",
        "POST /probe?tag=p4 HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
        "GET /nolen?kb=200&tag=p5 HTTP/1.1\r\nHost: test\r\n\r\n",
        "GET /probe?tag=p6 HTTP/1.1\r\nHost: test\r\n\r\n",
    ];
    conn.send(requests.concat()).await;

    let p1 = conn.response(false).await;
    assert_eq!(p1.json()["url"], "/slow?ms=150&tag=p1", "{p1:?}");
    let p2 = conn.response(false).await.json();
    assert_eq!(p2["url"], "/probe?tag=p2", "{p2}");
    assert_eq!(p2["body"], "hello", "{p2}");
    let p3 = conn.response(true).await;
    assert_eq!(p3.status, 200, "{p3:?}");
    let p4 = conn.response(false).await.json();
    assert_eq!(p4["url"], "/probe?tag=p4", "{p4}");
    assert_eq!(p4["body"], "abcdefg", "{p4}");
    let p5 = conn.response(false).await;
    assert_nolen_body(&p5.body, 200);
    let p6 = conn.response(false).await.json();
    assert_eq!(p6["url"], "/probe?tag=p6", "{p6}");
    conn.assert_open_and_quiet(Duration::from_millis(200), "after six answers")
        .await;

    let (_, urls) = seen(&server).await;
    let order: Vec<&String> = urls.iter().filter(|u| u.contains("tag=p")).collect();
    assert_eq!(order.len(), 6, "each reached the app once: {urls:?}");
}

// ---- Interim answers, trailers, Connection ----

#[tokio::test]
async fn interim_answers_reach_http11_clients_only() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(get("/hints?tag=hints-11")).await;
    let hints = conn.response(false).await;
    assert_eq!(hints.status, 103, "{hints:?}");
    assert!(
        hints
            .header("link")
            .is_some_and(|l| l.contains("/style.css")),
        "{hints:?}"
    );
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");

    // HTTP/1.0 has no 1xx: its client would take a 103 for the answer.
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send("GET /hints?tag=hints-10 HTTP/1.0\r\n\r\n").await;
    let response = conn.response(false).await;
    assert_eq!(
        response.status, 200,
        "an HTTP/1.0 client gets the final answer first: {response:?}"
    );
    assert_eq!(response.json()["url"], "/hints?tag=hints-10");
    conn.assert_closed("HTTP/1.0 without keep-alive").await;
}

#[tokio::test]
async fn chunked_bodies_pass_with_their_trailers_both_ways() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(
        "POST /probe?tag=trailers-in HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\
         Trailer: x-sum\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
    )
    .await;
    let body = conn.response(false).await.json();
    assert_eq!(body["body"], "hello world", "{body}");
    assert_eq!(body["trailers"]["x-sum"], "42", "{body}");

    conn.send(get("/trailers")).await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"abcdef", "{response:?}");
    assert_eq!(
        response.trailers,
        [("x-checksum".to_string(), "abcdef-sum".to_string())],
        "{response:?}"
    );
    conn.send(get("/probe?tag=after-trailers")).await;
    assert_eq!(conn.response(false).await.status, 200);
}

/// A client's `Connection: close` makes its request the connection's last: a request
/// behind it is neither read nor sent to the app.
#[tokio::test]
async fn a_clients_connection_close_ends_the_connection_after_its_answer() {
    let server = start().await;
    let (before, _) = seen(&server).await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(
        "GET /probe?tag=close-first HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n\
         GET /probe?tag=close-second HTTP/1.1\r\nHost: test\r\n\r\n",
    )
    .await;
    let response = conn.response(false).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.connection_has("close"), "{response:?}");
    assert_eq!(response.json()["url"], "/probe?tag=close-first");
    conn.assert_closed("after Connection: close").await;
    assert_app_did_not_see(&server, "close-second", before + 1).await;
}

/// An app's `Connection: close` is about its virtual connection; the client's stays.
#[tokio::test]
async fn the_apps_connection_close_ends_only_its_own_connection() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    for i in 0..3 {
        conn.send(get(&format!("/close?tag=app-close-{i}"))).await;
        let response = conn.response(false).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert!(!response.connection_has("close"), "{response:?}");
        assert_eq!(response.json()["url"], format!("/close?tag=app-close-{i}"));
    }
    // And the app's side closed each one.
    wait_open_sockets_at_most(&server, 2, "after three answers with Connection: close").await;
}

// ---- 8. Backpressure ----

/// The resident memory of process `pid`, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|err| panic!("read /proc/{pid}/status: {err}"));
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_holds_the_app_back_instead_of_filling_memory() {
    const STREAM_MIB: usize = 256;
    const READ_FIRST: usize = 2 * MIB;
    let server = start().await;
    let url = server.url().to_string();
    let written = |tag: &'static str| {
        let url = url.clone();
        async move {
            get_json(&format!("{url}/__written?tag={tag}")).await["written"]
                .as_u64()
                .unwrap_or(0)
        }
    };
    // Warm the app and the core up before the baseline.
    for _ in 0..3 {
        let mut conn = RawConn::connect(server.addr()).await;
        conn.send(get("/stream?mb=4&tag=warm")).await;
        assert_eq!(conn.response(false).await.body.len(), 4 * MIB);
    }
    let baseline = rss_bytes(server.pid());

    let mut conn = RawConn::connect_with_recv_buffer(server.addr(), 64 * KIB as u32).await;
    conn.send(get(&format!("/stream?mb={STREAM_MIB}&tag=slow")))
        .await;
    let head = conn.head().await;
    assert_eq!(head.status, 200, "{head:?}");
    let mut received = vec![0u8; STREAM_MIB * MIB];
    // A little, slowly.
    for piece in received[..READ_FIRST].chunks_mut(256 * KIB) {
        conn.read_into(piece).await.expect("the first bytes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Then not at all: the app must come to a stop (the same count for 10 polls in a
    // row, 200 ms), having written little more than the client took.
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let (mut last, mut same) = (u64::MAX, 0);
    let mut peak_rss = rss_bytes(server.pid());
    let later = loop {
        tick.tick().await;
        peak_rss = peak_rss.max(rss_bytes(server.pid()));
        let now = written("slow").await;
        same = if now == last { same + 1 } else { 0 };
        last = now;
        if same >= 10 {
            break now;
        }
        if tokio::time::Instant::now() >= deadline {
            server.fail(&format!(
                "the app's writes did not come to a stop while the client read nothing ({now} bytes)"
            ));
        }
    };
    let ahead = later.saturating_sub(READ_FIRST as u64);
    assert!(
        ahead < 32 * MIB as u64,
        "the app got {ahead} bytes ahead of a client that read {READ_FIRST}"
    );
    let grown = peak_rss.saturating_sub(baseline);
    eprintln!(
        "slow reader: read {READ_FIRST} bytes, the app stopped at {later}; RSS {} MiB, peak {} MiB",
        baseline / MIB as u64,
        peak_rss / MIB as u64
    );
    assert!(
        grown < 100 * MIB as u64,
        "the server grew by {} MiB for a client that read {} MiB",
        grown / MIB as u64,
        READ_FIRST / MIB
    );

    // Now all of it, whole.
    conn.read_into(&mut received[READ_FIRST..])
        .await
        .expect("the rest of the stream");
    for (k, chunk) in received.chunks(64 * KIB).enumerate() {
        let want = vec![(k % 256) as u8; chunk.len()];
        assert!(chunk == want.as_slice(), "chunk {k} is wrong");
    }
    assert_eq!(written("slow").await, (STREAM_MIB * MIB) as u64);
}

// ---- 9. An answer before the body ----

#[tokio::test]
async fn an_answer_before_the_body_reaches_a_client_still_uploading() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    let body_len = 32 * MIB;
    conn.send(format!(
        "POST /early?tag=early HTTP/1.1\r\nHost: test\r\nContent-Length: {body_len}\r\n\r\n"
    ))
    .await;
    let body = vec![b'x'; body_len];
    let (response, sent) = conn.send_while_reading(&body, STEP_TIMEOUT).await;
    let response = response.unwrap_or_else(|why| {
        panic!("no answer while uploading ({sent} of {body_len} bytes sent): {why}")
    });
    assert_eq!(response.status, 413, "{response:?}");
    assert_eq!(response.json()["tag"], "early", "{response:?}");
    assert!(
        sent < body_len,
        "the answer came before the upload ended (sent {sent})"
    );
    // The body was not read, so the connection cannot carry another request.
    let ending = conn.ending(STEP_TIMEOUT).await;
    assert!(
        matches!(ending, Ending::Closed | Ending::Reset),
        "the connection ends after an answer to an unread body: {ending:?}"
    );

    let next = client::get(&format!("{}/probe?tag=after-early", server.url())).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text());
    assert_eq!(events(&server, "early").await, ["early"]);
}

// ---- 10. Upgrade ----

#[tokio::test]
async fn an_upgraded_connection_is_a_tunnel_both_ways() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    let me = conn.local_addr();
    // Bytes right behind the head belong to the new protocol.
    conn.send(
        "GET /tunnel HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n\
         early bytes",
    )
    .await;
    let switched = conn.response(false).await;
    assert_eq!(switched.status, 101, "{switched:?}");
    assert_eq!(
        switched.header("x-remote"),
        Some(format!("{} {}", me.ip(), me.port()).as_str()),
        "the app's req.socket names the client: {switched:?}"
    );
    assert_eq!(conn.read_bytes(11).await, b"early bytes");

    // A tunnel is not a request in flight. /status is a snapshot the supervisor publishes
    // every tick, so one taken during the upgrade request may still count it: wait for
    // a later one (a tunnel that counted would never get there).
    let in_flight = |status: &Value| -> u64 {
        status["apps"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|a| a["workers"].as_array().cloned().unwrap_or_default())
            .map(|w| w["inFlight"].as_u64().unwrap_or(0))
            .sum()
    };
    let idle = poll(Duration::from_secs(5), || async {
        let status = server.admin_json("/status").await;
        (in_flight(&status) == 0).then_some(())
    })
    .await;
    if idle.is_none() {
        let status = server.admin_json("/status").await;
        server.fail(&format!(
            "the tunnel counts as a request in flight: {status}"
        ));
    }

    for (i, len) in [1usize, 1000, 200 * KIB].into_iter().enumerate() {
        let payload: Vec<u8> = (0..len).map(|j| ((i * 7 + j) % 256) as u8).collect();
        conn.send(&payload).await;
        let echoed = conn.read_bytes(len).await;
        assert!(echoed == payload, "echo {i} of {len} bytes differs");
    }

    // The client ends its side: the app ends its own, and the tunnel closes.
    conn.shutdown_write().await;
    assert_eq!(conn.ending(STEP_TIMEOUT).await, Ending::Closed);
    let (_, urls) = seen(&server).await;
    assert!(urls.iter().any(|u| u == "/tunnel"), "{urls:?}");
}

/// The app may decline an upgrade with an ordinary answer; the connection then goes on
/// as HTTP.
#[tokio::test]
async fn a_declined_upgrade_is_an_ordinary_answer() {
    let server = start().await;
    let mut conn = RawConn::connect(server.addr()).await;
    conn.send(
        "GET /tunnel HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n",
    )
    .await;
    let declined = conn.response(false).await;
    assert_eq!(declined.status, 400, "{declined:?}");
    conn.send(get("/probe?tag=after-declined")).await;
    let next = conn.response(false).await;
    assert_eq!(next.status, 200, "{next:?}");
    assert_eq!(next.json()["url"], "/probe?tag=after-declined");
}

// ---- a busy worker's loop keeps turning ----

/// Requests handed to a worker through memory must not keep its event loop in one turn:
/// Node runs a threadsafe function's queued calls back to back, and a worker woken for
/// every request that arrived while it computed never got to its next turn, so the
/// health sampler took a CPU-bound app under load for a stuck one and replaced its
/// workers again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_bound_worker_under_load_is_not_taken_for_stuck() {
    let server = start().await;
    let before = server.admin_json("/status").await;
    let worker = before["apps"][0]["workers"][0]["id"].clone();
    // 16 clients, each request holding the thread 5 ms: the worker is never idle, and
    // requests keep arriving while it computes. 2.5 s is more than twice `maxStall`.
    let report = spindle_e2e::load::Load::get(server.url(), "/spin?ms=5")
        .clients(16)
        .limits(100_000, Duration::from_millis(2500))
        .start()
        .join()
        .await;
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert!(report.ok > 100, "{}", report.summary());
    let after = server.admin_json("/status").await;
    let app = &after["apps"][0];
    assert_eq!(app["restarts"]["unhealthy"], 0, "{after}");
    assert_eq!(app["stalls"], 0, "{after}");
    assert_eq!(
        app["workers"][0]["id"], worker,
        "the same worker served throughout: {after}"
    );
}

// ---- 11. Requests caught on a stuck worker ----

/// A request waiting on a worker whose loop turns out to be stuck does not wait for the
/// worker to be replaced and terminated: at the stall verdict it goes to a free worker.
/// Workers here take 1.5 s to listen, so a request that waited for the successor and the
/// termination would be answered well after one moved at the verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waiting_on_a_stuck_worker_moves_at_the_verdict() {
    let server = TestServer::new()
        .app("web", fixture("datapath"))
        .workers(2)
        .app_config(serde_json::json!({
            "health": {"maxStall": 500},
            "env": {"DATAPATH_LISTEN_DELAY_MS": "1500"},
        }))
        .start()
        .await;
    // "spindle ready" needs one worker; this test needs both.
    spindle_e2e::workers::wait_live(
        &server,
        "web",
        2,
        &Default::default(),
        spindle_e2e::READY_TIMEOUT,
    )
    .await;
    let url = server.url().to_string();
    let in_flight = |status: &Value| -> Vec<u64> {
        status["apps"][0]["workers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| w["inFlight"].as_u64().unwrap_or(0))
            .collect()
    };
    let wait_in_flight = |total: u64| {
        let server = &server;
        async move {
            let reached = poll(STEP_TIMEOUT, || async {
                let now = in_flight(&server.admin_json("/status").await);
                (now.iter().sum::<u64>() >= total).then_some(now)
            })
            .await;
            reached.unwrap_or_else(|| server.fail(&format!("never {total} requests in flight")))
        }
    };
    // One worker spins for 6 s; the other, the least loaded, gets a request it holds.
    let spin = tokio::spawn({
        let url = url.clone();
        async move { client::try_get(&format!("{url}/spin?ms=6000")).await }
    });
    wait_in_flight(1).await;
    let mut held = RawConn::connect(server.addr()).await;
    held.send(get("/hold?tag=held")).await;
    assert_eq!(
        wait_in_flight(2).await,
        vec![1, 1],
        "one request on each worker"
    );
    // One in flight on each: of two slow requests sent together, one lands on the
    // spinning worker (the first takes one worker, the second the other). DELETE: not
    // idempotent, so it may move only because the stuck worker never took it.
    let probes: Vec<_> = (0..2)
        .map(|i| {
            let uri = format!("{url}/slow?ms=300&probe={i}");
            tokio::spawn(async move {
                client::try_request(&uri, http::Method::DELETE, client::empty(), STEP_TIMEOUT).await
            })
        })
        .collect();
    for probe in probes {
        let response = probe.await.expect("probe task").expect("an answer");
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
    // Both answered before the stuck worker's successor could be ready: the one caught on
    // it was moved at the verdict, not failed by the termination and retried after it.
    let logs = server.logs();
    assert!(
        logs.iter()
            .any(|l| l.is_msg("requests the stuck worker never took moved to another worker")),
        "no request was moved off the stuck worker"
    );
    assert!(
        !logs.iter().any(
            |l| l.is_msg("terminating the stuck worker: its successor is ready")
                || l.is_msg("terminating the stuck worker before its successor is ready")
        ),
        "the answers waited for the stuck worker's termination"
    );
    drop(held);
    drop(spin);
}
