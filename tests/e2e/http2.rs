//! HTTP/2 on the public port (`server.http2`): over TLS when ALPN picks `h2`, and in
//! clear text by prior knowledge. Each stream reaches a real app as an HTTP/1.1 request
//! through the same routing and dispatch, and its answer (the app's, or one of the
//! core's own) comes back as the stream's response.

use serde_json::json;
use spindle_e2e::tls::{connect, connect_h2, connect_h2c, Cert, H2Conn};
use spindle_e2e::{client, fixture, Running, TempDir, TestServer};

/// The datapath fixture (it echoes what it saw) with HTTP/2, over TLS when `cert` is
/// given, and `more` server keys; not started yet.
fn datapath_h2(dir: &TempDir, cert: Option<&Cert>, more: serde_json::Value) -> TestServer {
    let mut server = json!({"http2": true});
    if let Some(cert) = cert {
        server["https"] = cert.https_config(dir.path());
    }
    if let (Some(keys), serde_json::Value::Object(more)) = (server.as_object_mut(), more) {
        keys.extend(more);
    }
    TestServer::new()
        .app("web", fixture("datapath"))
        .workers(1)
        .config_json(json!({ "server": server }))
}

/// [`datapath_h2`], started.
async fn start(dir: &TempDir, cert: Option<&Cert>, more: serde_json::Value) -> Running {
    datapath_h2(dir, cert, more).start().await
}

async fn h2(server: &Running, cert: &Cert) -> H2Conn {
    connect_h2(server.addr(), &[cert])
        .await
        .unwrap_or_else(|e| server.fail(&format!("HTTP/2 connection: {e}")))
}

/// [`start`] over TLS, and an HTTP/2 connection to it; the temp dir holds the certificate
/// while the server runs.
async fn start_h2(more: serde_json::Value) -> (TempDir, Running, H2Conn) {
    let dir = TempDir::new();
    let cert = Cert::new();
    let server = start(&dir, Some(&cert), more).await;
    let conn = h2(&server, &cert).await;
    (dir, server, conn)
}

#[tokio::test]
async fn streams_reach_the_app_as_http1_requests_concurrently() {
    let (_dir, server, conn) = start_h2(json!({})).await;
    let request = http::Request::get("https://localhost/first?x=1")
        .header("cookie", "a=1")
        .header("cookie", "b=2")
        .body(())
        .unwrap();
    let first = conn
        .send(request, &[], 0)
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(first.status, 200, "{first:?}");
    let seen = first.json();
    assert_eq!(seen["url"], "/first?x=1");
    assert_eq!(seen["httpVersion"], "1.1");
    assert_eq!(seen["headers"]["host"], "localhost");
    assert_eq!(seen["headers"]["cookie"], "a=1; b=2");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");

    // Many streams at once on the one connection, each answered whole.
    let uris: Vec<String> = (0..20)
        .map(|i| format!("https://localhost/n/{i}"))
        .collect();
    let answers = futures_util::future::join_all(uris.iter().map(|uri| conn.get(uri))).await;
    for (i, answer) in answers.into_iter().enumerate() {
        let answer = answer.unwrap_or_else(|e| server.fail(&format!("stream {i}: {e}")));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["url"], format!("/n/{i}"));
    }
}

#[tokio::test]
async fn request_bodies_and_large_answers_cross_whole() {
    let (_dir, server, conn) = start_h2(json!({})).await;
    // No content-length: the worker gets it chunked, in the client's DATA frames.
    let body = "x".repeat(100_000);
    let request = http::Request::post("https://localhost/up")
        .body(())
        .unwrap();
    let up = conn
        .send(request, body.as_bytes(), 7)
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(up.status, 200);
    let seen = up.json();
    assert_eq!(seen["bytes"], 100_000);
    assert_eq!(seen["headers"]["transfer-encoding"], "chunked");
    // With a content-length, as the client said.
    let request = http::Request::post("https://localhost/up")
        .header("content-length", "5")
        .body(())
        .unwrap();
    let up = conn.send(request, b"hello", 1).await.unwrap();
    assert_eq!(up.json()["body"], "hello");

    // An answer far larger than a flow-control window: sent as the client reads.
    let big = conn
        .get("https://localhost/stream?mb=3")
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(big.status, 200);
    assert_eq!(big.body.len(), 3 * 1024 * 1024);
    for (n, chunk) in big.body.chunks(64 * 1024).enumerate() {
        assert!(chunk.iter().all(|b| *b == n as u8), "chunk {n} altered");
    }
    // A chunked answer (Node's, without a length) arrives decoded.
    let nolen = conn.get("https://localhost/nolen?kb=100").await.unwrap();
    assert_eq!(nolen.status, 200);
    assert!(nolen.headers.get("transfer-encoding").is_none());
    assert_eq!(nolen.body.len(), 100 * 1024);
    assert!(nolen
        .body
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (i % 251) as u8));
    // HEAD and 204: a head alone.
    let request = http::Request::head("https://localhost/h").body(()).unwrap();
    let head = conn.send(request, &[], 0).await.unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let empty = conn.get("https://localhost/status?code=204").await.unwrap();
    assert_eq!(empty.status, 204);
    assert_eq!(empty.headers["x-code"], "204");
}

#[tokio::test]
async fn the_cores_own_answers_reach_http2_clients() {
    let (_dir, server, conn) = start_h2(json!({"maxBodySize": 10})).await;
    let request = http::Request::post("https://localhost/up")
        .header("content-length", "11")
        .body(())
        .unwrap();
    let refused = conn
        .send(request, b"hello world", 1)
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(refused.status, 413, "{refused:?}");
    assert_eq!(refused.json()["error"], "too_large");
    // The connection serves on.
    let fine = conn.get("https://localhost/fine").await.unwrap();
    assert_eq!(fine.status, 200);
}

#[tokio::test]
async fn http1_clients_still_use_the_tls_port() {
    let dir = TempDir::new();
    let cert = Cert::new();
    let server = start(&dir, Some(&cert), json!({})).await;
    let mut conn = connect(server.addr(), &[&cert], &[b"http/1.1"])
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(conn.alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (status, _) = conn.get("/one").await.unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn h2c_by_prior_knowledge_and_http1_share_a_plain_port() {
    let dir = TempDir::new();
    let server = start(&dir, None, json!({})).await;
    let conn = connect_h2c(server.addr())
        .await
        .unwrap_or_else(|e| server.fail(&e));
    let answer = conn
        .get("http://localhost/clear")
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(answer.status, 200);
    let seen = answer.json();
    assert_eq!(seen["url"], "/clear");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "http");
    let plain = client::get(&format!("{}/plain", server.url())).await;
    assert_eq!(plain.status, 200u16);
    assert_eq!(plain.json()["url"], "/plain");
}

#[tokio::test]
async fn timeouts_and_resets_work_per_stream() {
    let dir = TempDir::new();
    let cert = Cert::new();
    let server = datapath_h2(&dir, Some(&cert), json!({}))
        .app_config(json!({"responseTimeout": 300}))
        .start()
        .await;
    let conn = h2(&server, &cert).await;
    // An app that never answers: the core's 504, naming the app, on that stream only.
    let late = conn
        .get("https://localhost/hold?tag=late")
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(late.status, 504, "{late:?}");
    assert_eq!(late.json()["app"], "web");

    // A stream the client resets is a client that left: the app's request is aborted,
    // and the connection's other streams carry on.
    let request = http::Request::get("https://localhost/hold?tag=reset")
        .body(())
        .unwrap();
    let mut sender = conn.sender.clone().ready().await.unwrap();
    let (_response, mut stream) = sender.send_request(request, true).unwrap();
    wait_event(&server, &conn, "reset", "arrived").await;
    stream.send_reset(h2::Reason::CANCEL);
    wait_event(&server, &conn, "reset", "res close before end").await;
    let after = conn.get("https://localhost/after").await.unwrap();
    assert_eq!(after.status, 200);
}

/// Polls the app's record for `tag` (asked over `conn`) until an event starts with
/// `prefix`.
async fn wait_event(server: &Running, conn: &H2Conn, tag: &str, prefix: &str) {
    let uri = format!("https://localhost/__events?tag={tag}");
    let found = client::poll(spindle_e2e::STEP_TIMEOUT, || async {
        let events = conn.get(&uri).await.ok()?.json();
        events["events"]
            .as_array()?
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.starts_with(prefix)))
            .then_some(())
    })
    .await;
    if found.is_none() {
        server.fail(&format!("the app recorded no {prefix:?} for {tag}"));
    }
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_keep_alive_timeout() {
    let dir = TempDir::new();
    let server = start(&dir, None, json!({"keepAliveTimeout": 300})).await;
    let conn = connect_h2c(server.addr())
        .await
        .unwrap_or_else(|e| server.fail(&e));
    let answer = conn.get("http://localhost/once").await.unwrap();
    assert_eq!(answer.status, 200);
    let began = std::time::Instant::now();
    // The client keeps its handle (dropping it would close the connection from its side).
    let H2Conn {
        closed,
        sender: _sender,
    } = conn;
    let ended = tokio::time::timeout(spindle_e2e::STEP_TIMEOUT, closed).await;
    assert!(ended.is_ok(), "the idle connection stayed open");
    assert!(began.elapsed() >= std::time::Duration::from_millis(200));
}
