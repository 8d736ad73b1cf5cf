//! HTTPS on the public port (`server.https`): a real app served over TLS, told the
//! client's scheme; plain HTTP on the port refused without harm to others; a handshake
//! that never finishes closed within the head timeout; certificates reloaded on SIGHUP
//! and on a file change while open connections carry on, and a bad new certificate
//! logged with the old one kept.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spindle_e2e::client::poll;
use spindle_e2e::raw::RawConn;
use spindle_e2e::tls::{connect, Cert, TlsConn};
use spindle_e2e::{fixture, Running, TempDir, TestServer, STEP_TIMEOUT};

const HEAD_MS: u64 = 600;

/// The datapath fixture (it echoes what it saw) over HTTPS with `cert`'s files in `dir`.
async fn start(dir: &TempDir, cert: &Cert) -> Running {
    cert.write(dir.path());
    let https = json!({
        "key": dir.path().join("key.pem"),
        "cert": { "path": dir.path().join("cert.pem") },
    });
    TestServer::new()
        .app("web", fixture("datapath"))
        .workers(1)
        .config_json(json!({"server": {"https": https, "headersTimeout": HEAD_MS}}))
        .start()
        .await
}

async fn conn(server: &Running, trusted: &[&Cert]) -> TlsConn {
    connect(server.addr(), trusted, &[b"http/1.1"])
        .await
        .unwrap_or_else(|e| server.fail(&format!("HTTPS connection: {e}")))
}

/// GET on `conn`, asserting a 200 with the app's JSON echo.
async fn echo(server: &Running, conn: &mut TlsConn, path: &str) -> Value {
    echo_with(server, conn, path, &[]).await
}

async fn echo_with(
    server: &Running,
    conn: &mut TlsConn,
    path: &str,
    headers: &[(&str, &str)],
) -> Value {
    let (status, body) = conn
        .get_with(path, headers)
        .await
        .unwrap_or_else(|e| server.fail(&format!("GET {path}: {e}")));
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn https_requests_reach_the_app_with_the_clients_scheme() {
    let dir = TempDir::new();
    let cert = Cert::new();
    let server = start(&dir, &cert).await;
    assert!(server.url().starts_with("https://"), "{}", server.url());
    // A client offering HTTP/2 first settles on HTTP/1.1, which is what is served.
    let mut conn = connect(server.addr(), &[&cert], &[b"h2", b"http/1.1"])
        .await
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(conn.presented, cert.der);
    assert_eq!(conn.alpn.as_deref(), Some(&b"http/1.1"[..]));
    let first = echo(&server, &mut conn, "/first").await;
    assert_eq!(first["url"], "/first");
    assert_eq!(first["headers"]["x-forwarded-proto"], "https");
    // Keep-alive: the next request rides the same TLS connection.
    let second = echo(&server, &mut conn, "/second").await;
    assert_eq!(second["url"], "/second");
    assert_eq!(second["remotePort"], first["remotePort"]);
    // A client's own claim is not believed (trustProxy is false): the scheme is ours.
    let forged = echo_with(
        &server,
        &mut conn,
        "/third",
        &[("x-forwarded-proto", "http")],
    )
    .await;
    assert_eq!(forged["headers"]["x-forwarded-proto"], "https");
}

#[tokio::test]
async fn large_answers_cross_tls_whole_on_one_connection() {
    let dir = TempDir::new();
    let cert = Cert::new();
    let server = start(&dir, &cert).await;
    let mut conn = conn(&server, &[&cert]).await;
    // Hundreds of TLS records each, sealed by the connection's task as the client reads.
    for _ in 0..2 {
        let (status, body) = conn
            .get("/stream?mb=3")
            .await
            .unwrap_or_else(|e| server.fail(&format!("GET /stream: {e}")));
        assert_eq!(status, 200);
        assert_eq!(body.len(), 3 * 1024 * 1024);
        // The fixture fills its n-th 64 KiB chunk with the byte n.
        for (n, chunk) in body.chunks(64 * 1024).enumerate() {
            assert!(chunk.iter().all(|b| *b == n as u8), "chunk {n} altered");
        }
    }
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_refused_and_others_carry_on() {
    let dir = TempDir::new();
    let cert = Cert::new();
    let server = start(&dir, &cert).await;
    let mut good = conn(&server, &[&cert]).await;
    echo(&server, &mut good, "/before").await;

    let mut plain = RawConn::connect(server.addr()).await;
    plain.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let refused = plain.response(false).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.text().contains("https://"), "{refused:?}");
    assert!(refused.connection_has("close"), "{refused:?}");
    plain.assert_closed("after the refusal").await;

    echo(&server, &mut good, "/after").await;
}

#[tokio::test]
async fn a_handshake_that_stalls_is_closed_within_the_head_timeout() {
    let dir = TempDir::new();
    let cert = Cert::new();
    let server = start(&dir, &cert).await;
    let mut stalled = RawConn::connect(server.addr()).await;
    // The start of a TLS record, and nothing more.
    stalled.send([0x16u8, 0x03, 0x01]).await;
    let began = Instant::now();
    stalled.assert_closed("a stalled handshake").await;
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(HEAD_MS / 2) && took < STEP_TIMEOUT,
        "closed after {took:?}"
    );
    let mut good = conn(&server, &[&cert]).await;
    echo(&server, &mut good, "/fine").await;
}

/// Connects until the server presents `want` (a reload is seen by new handshakes).
async fn wait_presented(server: &Running, trusted: &[&Cert], want: &Cert) {
    let seen = poll(STEP_TIMEOUT, || async {
        let conn = connect(server.addr(), trusted, &[b"http/1.1"]).await.ok()?;
        (conn.presented == want.der).then_some(())
    })
    .await;
    if seen.is_none() {
        server.fail("the server never presented the new certificate");
    }
}

/// After a reload, or a refused one: a new connection is presented `want` and served, and
/// `open`, made before it, keeps its session and its keep-alive.
async fn assert_fresh_and_open_served(
    server: &Running,
    trusted: &[&Cert],
    want: &Cert,
    open: &mut TlsConn,
) {
    let mut fresh = conn(server, trusted).await;
    assert_eq!(fresh.presented, want.der);
    echo(server, &mut fresh, "/fresh").await;
    echo(server, open, "/two").await;
}

#[tokio::test]
async fn sighup_swaps_the_certificate_and_open_connections_carry_on() {
    let dir = TempDir::new();
    let old = Cert::new();
    let new = Cert::new();
    let server = start(&dir, &old).await;
    let mut open = conn(&server, &[&old, &new]).await;
    echo(&server, &mut open, "/one").await;

    let mark = server.log_mark();
    new.write(dir.path());
    server.sighup();
    server
        .wait_log_since(
            mark,
            |l| l.is_msg("TLS certificates reloaded") && l.str("trigger") == Some("SIGHUP"),
            STEP_TIMEOUT,
        )
        .await;
    assert_fresh_and_open_served(&server, &[&old, &new], &new, &mut open).await;
}

#[tokio::test]
async fn a_changed_file_is_picked_up_without_a_signal() {
    let dir = TempDir::new();
    let old = Cert::new();
    let new = Cert::new();
    let server = start(&dir, &old).await;
    new.write(dir.path());
    wait_presented(&server, &[&old, &new], &new).await;
    server
        .wait_log(
            |l| l.is_msg("TLS certificates reloaded") && l.str("trigger") == Some("file change"),
            STEP_TIMEOUT,
        )
        .await;
}

#[tokio::test]
async fn a_bad_certificate_on_reload_is_logged_and_the_old_one_stays() {
    let dir = TempDir::new();
    let old = Cert::new();
    let server = start(&dir, &old).await;
    let mut open = conn(&server, &[&old]).await;
    echo(&server, &mut open, "/one").await;

    // A key for another certificate: the pair does not match.
    let mark = server.log_mark();
    let other = Cert::new();
    std::fs::write(dir.path().join("key.pem"), &other.key_pem).unwrap();
    server.sighup();
    let failed = server
        .wait_msg_since(mark, "TLS certificates not reloaded; the ones in use stay")
        .await;
    let error = failed.str("error").unwrap_or_default();
    assert!(error.contains("server.https.cert"), "{}", failed.text);
    assert!(error.contains("cert.pem"), "{}", failed.text);

    assert_fresh_and_open_served(&server, &[&old], &old, &mut open).await;
}

#[tokio::test]
async fn websockets_pass_through_tls() {
    use spindle_e2e::websocket::{assert_echoes, handshake};
    use tokio_tungstenite::tungstenite::Message;

    let dir = TempDir::new();
    let cert = Cert::new();
    let https = cert.https_config(dir.path());
    let server = TestServer::new()
        .app("web", fixture("ws-echo"))
        .config_json(json!({"server": {"https": https}}))
        .start()
        .await;
    let tls = spindle_e2e::tls::tls_connect(server.addr(), &[&cert], &[b"http/1.1"])
        .await
        .unwrap_or_else(|e| server.fail(&e));
    let mut socket = handshake(format!("wss://{}/", server.addr()), tls).await;
    // Small and large messages, the large one many TLS records long, both ways.
    let sent = [
        Message::text("hello"),
        Message::binary((0..(1 << 20)).map(|i| (i % 251) as u8).collect::<Vec<u8>>()),
    ];
    assert_echoes(&mut socket, &sent).await;
    socket.close(None).await.expect("close");
}

#[tokio::test]
async fn a_handshake_holds_its_place_against_max_connections() {
    let dir = TempDir::new();
    let cert = Cert::new();
    let https = cert.https_config(dir.path());
    let server = TestServer::new()
        .app("web", fixture("datapath"))
        .workers(1)
        .config_json(json!({"server": {
            "https": https, "headersTimeout": HEAD_MS, "maxConnections": 1,
        }}))
        .start()
        .await;
    // The one place goes to a handshake that never finishes.
    let mut stalled = RawConn::connect(server.addr()).await;
    stalled.send([0x16u8, 0x03, 0x01]).await;
    let began = Instant::now();
    // The next client waits in the backlog until the stalled one is closed, then is served.
    let addr = server.addr().to_string();
    let trusted = cert.clone();
    let next = tokio::spawn(async move {
        let mut conn = connect(&addr, &[&trusted], &[b"http/1.1"]).await?;
        let answered = conn.get("/next").await?;
        Ok::<_, String>((answered.0, Instant::now()))
    });
    stalled.assert_closed("the stalled handshake").await;
    let (status, served_at) = next
        .await
        .expect("the client task")
        .unwrap_or_else(|e| server.fail(&e));
    assert_eq!(status, 200);
    assert!(
        served_at.duration_since(began) >= Duration::from_millis(HEAD_MS / 2),
        "served after {:?}, before the stalled handshake's place was free",
        served_at.duration_since(began)
    );
}
