//! write_forwarded: the head a worker receives.

use std::net::SocketAddr;

use super::*;
use spindle_config::TrustProxy;

const PEER: &str = "192.0.2.7:50000";

fn forward_with(buf: &[u8], strip_prefix: Option<&str>, peer: &str) -> String {
    forward_trusting(buf, strip_prefix, peer, &TrustProxy::Nobody)
}

fn forward_trusting(
    buf: &[u8],
    strip_prefix: Option<&str>,
    peer: &str,
    trust: &TrustProxy,
) -> String {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let head = parse_request(buf, &mut headers, &Limits::default())
        .expect("accepted")
        .expect("complete");
    let fwd = Forwarding {
        peer: peer.parse::<SocketAddr>().unwrap(),
        strip_prefix,
        proto: "http",
        trust,
        trace: None,
    };
    let mut out = Vec::new();
    write_forwarded(&head, &fwd, &mut out);
    String::from_utf8(out).unwrap()
}

fn forward(buf: &[u8]) -> String {
    forward_with(buf, None, PEER)
}

#[test]
fn origin_form_passes_its_lines_as_they_came() {
    let got = forward(b"POST /a?b HTTP/1.1\r\nHost: Example.com\r\nX-Odd:  spaced \t\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(
        got,
        "POST /a?b HTTP/1.1\r\n\
         Host: Example.com\r\n\
         X-Odd:  spaced \t\r\n\
         Content-Length: 3\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: Example.com\r\n\
         \r\n"
    );
}

#[test]
fn absolute_form_becomes_origin_form_with_its_host() {
    let got = forward(b"GET http://api.example:8080/p?q HTTP/1.1\r\nHost: other\r\nA: 1\r\n\r\n");
    assert_eq!(
        got,
        "GET /p?q HTTP/1.1\r\n\
         A: 1\r\n\
         host: api.example:8080\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: api.example:8080\r\n\
         \r\n"
    );
    let empty_path = forward(b"GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(
        empty_path.starts_with("GET /?q HTTP/1.1\r\n"),
        "{empty_path}"
    );
}

#[test]
fn a_stripped_prefix_moves_to_x_forwarded_prefix() {
    let buf = b"GET /api/x/y?q=1 HTTP/1.1\r\nHost: h\r\nX-Forwarded-Prefix: /evil\r\n\r\n";
    let got = forward_with(buf, Some("/api"), PEER);
    assert_eq!(
        got,
        "GET /x/y?q=1 HTTP/1.1\r\n\
         Host: h\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: h\r\n\
         x-forwarded-prefix: /api\r\n\
         \r\n"
    );
    let whole = forward_with(b"GET /api HTTP/1.1\r\nHost: h\r\n\r\n", Some("/api"), PEER);
    assert!(whole.starts_with("GET / HTTP/1.1\r\n"), "{whole}");
    let query = forward_with(
        b"GET /api?q HTTP/1.1\r\nHost: h\r\n\r\n",
        Some("/api"),
        PEER,
    );
    assert!(query.starts_with("GET /?q HTTP/1.1\r\n"), "{query}");
}

#[test]
fn an_untrusted_peer_cannot_pose_as_a_proxy() {
    let got = forward(
        b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nHost: h\r\n\
          x-forwarded-for: 10.0.0.3\r\nX-Forwarded-Proto: https\r\n\
          X-Forwarded-Host: evil\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Prefix: /p\r\n\r\n",
    );
    assert_eq!(
        got,
        "GET / HTTP/1.1\r\n\
         Host: h\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: h\r\n\
         \r\n"
    );
}

#[test]
fn a_trusted_peer_keeps_its_forwarding_lines_and_the_chain_is_extended() {
    let got = forward_trusting(
        b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nHost: h\r\n\
          x-forwarded-for: 10.0.0.3\r\nX-Forwarded-For:\r\nX-Forwarded-Proto: https\r\n\
          X-Forwarded-Host: shop.example\r\nX-Forwarded-Prefix: /p\r\n\r\n",
        None,
        PEER,
        &TrustProxy::Everyone,
    );
    assert_eq!(
        got,
        "GET / HTTP/1.1\r\n\
         Host: h\r\n\
         X-Forwarded-Proto: https\r\n\
         X-Forwarded-Host: shop.example\r\n\
         X-Forwarded-Prefix: /p\r\n\
         x-forwarded-for: 10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7\r\n\
         \r\n"
    );
}

#[test]
fn a_hop_count_keeps_only_the_hops_it_vouches_for() {
    let buf = b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.9\r\n\r\n";
    let got = forward_trusting(buf, None, PEER, &TrustProxy::Hops(1));
    assert!(
        got.contains("x-forwarded-for: 203.0.113.9, 192.0.2.7\r\n"),
        "{got}"
    );
    let nets = TrustProxy::parse_list(["10.0.0.0/8"]).unwrap();
    let outside = forward_trusting(buf, None, PEER, &nets);
    assert!(
        outside.contains("x-forwarded-for: 192.0.2.7\r\n"),
        "{outside}"
    );
    let inside = forward_trusting(buf, None, "10.1.1.1:80", &nets);
    assert!(
        inside.contains("x-forwarded-for: 203.0.113.9, 10.1.1.1\r\n"),
        "{inside}"
    );
}

#[test]
fn a_trusted_forwarded_list_gets_our_hop() {
    let buf = b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=203.0.113.9;proto=https\r\n\r\n";
    let got = forward_trusting(buf, None, "[2001:db8::1]:80", &TrustProxy::Everyone);
    assert!(
        got.contains("Forwarded: for=203.0.113.9;proto=https\r\n"),
        "{got}"
    );
    assert!(
        got.contains("forwarded: for=\"[2001:db8::1]\";proto=http\r\n"),
        "{got}"
    );
    let v4 = forward_trusting(buf, None, PEER, &TrustProxy::Everyone);
    assert!(
        v4.contains("forwarded: for=192.0.2.7;proto=http\r\n"),
        "{v4}"
    );
}

#[test]
fn a_trusted_prefix_is_joined_with_ours() {
    let buf = b"GET /api/x HTTP/1.1\r\nHost: h\r\nX-Forwarded-Prefix: /outer/\r\n\r\n";
    let got = forward_trusting(buf, Some("/api"), PEER, &TrustProxy::Everyone);
    assert!(got.contains("x-forwarded-prefix: /outer/api\r\n"), "{got}");
    assert!(!got.contains("X-Forwarded-Prefix"), "{got}");
}

#[test]
fn ipv6_peers() {
    let got = forward_with(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        None,
        "[2001:db8::1]:1",
    );
    assert!(got.contains("x-forwarded-for: 2001:db8::1\r\n"), "{got}");
    let mapped = forward_with(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        None,
        "[::ffff:10.1.2.3]:1",
    );
    assert!(mapped.contains("x-forwarded-for: 10.1.2.3\r\n"), "{mapped}");
}

#[test]
fn http10_without_keep_alive_or_host() {
    assert_eq!(
        forward(b"GET / HTTP/1.0\r\nA: 1\r\n\r\n"),
        "GET / HTTP/1.0\r\n\
         A: 1\r\n\
         host: localhost\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         \r\n"
    );
}

#[test]
fn http10_with_keep_alive_and_host() {
    assert_eq!(
        forward(
            b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\nHost: h\r\n\r\n"
        ),
        "GET / HTTP/1.0\r\n\
         Host: h\r\n\
         connection: keep-alive\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: h\r\n\
         \r\n"
    );
}

#[test]
fn close_is_passed_on() {
    let got = forward(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert!(got.contains("\r\nconnection: close\r\n"), "{got}");
    assert!(!got.contains("Connection"), "{got}");
}

#[test]
fn an_upgrade_keeps_upgrade() {
    let got = forward(
        b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Key: k\r\n\r\n",
    );
    assert_eq!(
        got,
        "GET /ws HTTP/1.1\r\n\
         Host: h\r\n\
         Upgrade: websocket\r\n\
         Sec-WebSocket-Key: k\r\n\
         connection: upgrade\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: h\r\n\
         \r\n"
    );
}

#[test]
fn upgrade_without_the_option_is_dropped() {
    let got = forward(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n");
    assert!(!got.contains("pgrade"), "{got}");
}

#[test]
fn hop_by_hop_and_connection_named_headers_are_dropped() {
    let got = forward(
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Secret, keep-alive\r\nx-secret: 1\r\n\
          Keep-Alive: 5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: 2\r\n\
          connection: X-Other\r\nX-OTHER: 3\r\n\r\n",
    );
    assert_eq!(
        got,
        "GET / HTTP/1.1\r\n\
         Host: h\r\n\
         X-Kept: 2\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: h\r\n\
         \r\n"
    );
}

#[test]
fn connection_cannot_drop_framing_or_host() {
    let got = forward(
        b"POST / HTTP/1.1\r\nHost: h\r\nConnection: content-length, host, transfer-encoding\r\n\
          Content-Length: 3\r\n\r\nabc",
    );
    assert!(
        got.contains("\r\nHost: h\r\nContent-Length: 3\r\n"),
        "{got}"
    );
    let chunked = forward(
        b"POST / HTTP/1.1\r\nHost: h\r\nConnection: Transfer-Encoding\r\n\
          Transfer-Encoding: chunked\r\n\r\n",
    );
    assert!(
        chunked.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{chunked}"
    );
}

#[test]
fn duplicate_content_lengths_become_one() {
    let got =
        forward(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nHost: h\r\ncontent-length: 3\r\n\r\nabc");
    assert_eq!(
        got,
        "POST / HTTP/1.1\r\n\
         Content-Length: 3\r\n\
         Host: h\r\n\
         x-forwarded-for: 192.0.2.7\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: h\r\n\
         \r\n"
    );
    let list = forward(b"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nHost: h\r\n\r\nabc");
    assert!(
        list.starts_with("POST / HTTP/1.1\r\ncontent-length: 3\r\nHost: h\r\n"),
        "{list}"
    );
}

#[test]
fn chunked_requests_keep_transfer_encoding() {
    let got = forward(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert!(
        got.contains("\r\nTransfer-Encoding: gzip, chunked\r\n"),
        "{got}"
    );
}

#[test]
fn asterisk_form_stays() {
    let got = forward_with(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", Some("/api"), PEER);
    assert!(got.starts_with("OPTIONS * HTTP/1.1\r\n"), "{got}");
}

#[test]
fn the_head_is_appended() {
    let mut headers = [httparse::EMPTY_HEADER; 8];
    let buf = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    let head = parse_request(buf, &mut headers, &Limits::default())
        .unwrap()
        .unwrap();
    let fwd = Forwarding {
        peer: PEER.parse().unwrap(),
        strip_prefix: None,
        proto: "https",
        trust: &TrustProxy::Nobody,
        trace: None,
    };
    let mut out = b"previous".to_vec();
    write_forwarded(&head, &fwd, &mut out);
    assert!(out.starts_with(b"previousGET / HTTP/1.1\r\n"));
    assert!(out.ends_with(b"x-forwarded-proto: https\r\nx-forwarded-host: h\r\n\r\n"));
}

#[test]
fn a_prefix_cannot_add_lines() {
    let got = forward_with(
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
        Some("/a\r\nx-injected: 1"),
        PEER,
    );
    assert!(!got.contains("\r\nx-injected"), "{got}");
}

#[test]
fn the_cores_trace_lines_replace_the_clients() {
    let buf =
        b"GET / HTTP/1.1\r\nHost: h\r\ntraceparent: 00-aa-bb-01\r\nTraceState: a=1\r\nA: 1\r\n\r\n";
    let mut headers = [httparse::EMPTY_HEADER; 8];
    let head = parse_request(buf, &mut headers, &Limits::default())
        .unwrap()
        .unwrap();
    let ours = b"traceparent: 00-ours-01\r\n";
    let mut fwd = Forwarding {
        peer: PEER.parse().unwrap(),
        strip_prefix: None,
        proto: "http",
        trust: &TrustProxy::Nobody,
        trace: Some(ours),
    };
    let mut out = Vec::new();
    write_forwarded(&head, &fwd, &mut out);
    let got = String::from_utf8(out).unwrap();
    assert!(!got.contains("00-aa-bb-01"), "{got}");
    assert!(!got.contains("TraceState"), "{got}");
    assert!(got.contains("\r\nA: 1\r\n"), "{got}");
    assert!(
        got.ends_with("\r\ntraceparent: 00-ours-01\r\n\r\n"),
        "{got}"
    );

    // Untraced (telemetry off, or a skipped path): the client's lines pass as they came.
    fwd.trace = None;
    let mut out = Vec::new();
    write_forwarded(&head, &fwd, &mut out);
    let got = String::from_utf8(out).unwrap();
    assert!(
        got.contains("\r\ntraceparent: 00-aa-bb-01\r\nTraceState: a=1\r\n"),
        "{got}"
    );
}
