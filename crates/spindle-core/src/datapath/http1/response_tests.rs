//! parse_response and write_for_client.

use super::test_support::head;
use super::*;

const MAX: usize = 64 * 1024;

fn ok(lines: &[&str]) -> Vec<u8> {
    head("HTTP/1.1 200 OK", lines)
}

/// (framing, keep_alive) of an accepted head.
fn parsed(buf: &[u8], request_was_head: bool) -> (Framing, bool) {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    match parse_response(buf, &mut headers, request_was_head, MAX) {
        Ok(Some(h)) => (h.framing, h.keep_alive),
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
    }
}

fn framing(buf: &[u8]) -> Framing {
    parsed(buf, false).0
}

fn keep_alive(buf: &[u8]) -> bool {
    parsed(buf, false).1
}

fn error(buf: &[u8]) -> String {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    match parse_response(buf, &mut headers, false, MAX) {
        Err(e) => e.to_string(),
        Ok(other) => panic!("{:?} accepted: {other:?}", String::from_utf8_lossy(buf)),
    }
}

#[test]
fn the_head_in_full() {
    let buf = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX: y\r\n\r\nhi";
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let head = parse_response(buf, &mut headers, false, MAX)
        .unwrap()
        .unwrap();
    assert_eq!(head.status, 201);
    assert_eq!(head.version, Version::Http11);
    assert_eq!(head.headers.len(), 2);
    assert_eq!(head.head_len, buf.len() - 2);
    assert_eq!(head.framing, Framing::Length(2));
    assert!(head.keep_alive);
}

#[test]
fn incomplete_heads_are_none() {
    let buf = ok(&["Content-Length: 0"]);
    for end in 0..buf.len() {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        assert_eq!(
            parse_response(&buf[..end], &mut headers, false, MAX),
            Ok(None),
            "{end}"
        );
    }
}

#[test]
fn content_length() {
    assert_eq!(framing(&ok(&["Content-Length: 10"])), Framing::Length(10));
    assert_eq!(framing(&ok(&["Content-Length: 0"])), Framing::Length(0));
    assert_eq!(
        framing(&ok(&["Content-Length: 7", "content-length: 7"])),
        Framing::Length(7)
    );
    assert_eq!(framing(&ok(&["Content-Length: 7,7"])), Framing::Length(7));
    assert_eq!(
        error(&ok(&["Content-Length: 7", "Content-Length: 8"])),
        "conflicting content-length values"
    );
    assert_eq!(
        error(&ok(&["Content-Length: 7, 8"])),
        "conflicting content-length values"
    );
    for bad in ["", "-1", "1.0", "abc", "99999999999999999999"] {
        let line = format!("Content-Length: {bad}");
        assert_eq!(error(&ok(&[&line])), "invalid content-length", "{bad:?}");
    }
}

#[test]
fn transfer_encoding() {
    // Chunked when it is the last coding; until close when another one is.
    for (codings, expected) in [
        ("chunked", Framing::Chunked),
        ("gzip, Chunked", Framing::Chunked),
        ("gzip", Framing::UntilClose),
        ("chunked, gzip", Framing::UntilClose),
    ] {
        let line = format!("Transfer-Encoding: {codings}");
        assert_eq!(framing(&ok(&[&line])), expected, "{codings:?}");
    }
    for bad in ["chunked, chunked", "chunked;x"] {
        let line = format!("Transfer-Encoding: {bad}");
        assert_eq!(error(&ok(&[&line])), "invalid transfer-encoding", "{bad:?}");
    }
    assert_eq!(
        error(&ok(&["Transfer-Encoding: chunked", "Content-Length: 5"])),
        "content-length with transfer-encoding"
    );
    assert_eq!(
        error(&head("HTTP/1.0 200 OK", &["Transfer-Encoding: chunked"])),
        "transfer-encoding in an HTTP/1.0 response"
    );
}

#[test]
fn nothing_means_until_close() {
    assert_eq!(parsed(&ok(&[]), false), (Framing::UntilClose, false));
    assert_eq!(
        parsed(&ok(&["Transfer-Encoding: gzip"]), false),
        (Framing::UntilClose, false)
    );
}

#[test]
fn bodiless_statuses() {
    for status in [
        "100 Continue",
        "101 Switching Protocols",
        "103 Early Hints",
        "204 No Content",
        "304 Not Modified",
    ] {
        let buf = head(&format!("HTTP/1.1 {status}"), &["Content-Length: 5"]);
        assert_eq!(framing(&buf), Framing::None, "{status}");
    }
    // What they say about length describes nothing we forward.
    let odd = head(
        "HTTP/1.1 304 Not Modified",
        &["Transfer-Encoding: chunked", "Content-Length: x"],
    );
    assert_eq!(framing(&odd), Framing::None);
}

#[test]
fn responses_to_head_have_no_body() {
    assert_eq!(
        parsed(&ok(&["Content-Length: 1234"]), true),
        (Framing::None, true)
    );
    assert_eq!(
        parsed(&ok(&["Transfer-Encoding: chunked"]), true),
        (Framing::None, true)
    );
    assert_eq!(parsed(&ok(&[]), true), (Framing::None, true));
}

#[test]
fn keep_alive_follows_version_and_connection() {
    assert!(keep_alive(&ok(&["Content-Length: 0"])));
    assert!(!keep_alive(&ok(&[
        "Content-Length: 0",
        "Connection: close"
    ])));
    assert!(!keep_alive(&ok(&[
        "Content-Length: 0",
        "Connection: x, Close"
    ])));
    assert!(!keep_alive(&head(
        "HTTP/1.0 200 OK",
        &["Content-Length: 0"]
    )));
    let ka = head(
        "HTTP/1.0 200 OK",
        &["Content-Length: 0", "Connection: keep-alive"],
    );
    assert!(keep_alive(&ka));
}

#[test]
fn status_codes_outside_100_to_599_are_bad() {
    assert_eq!(
        error(&head("HTTP/1.1 099 X", &[])),
        "status code 99 out of range"
    );
    assert_eq!(
        error(&head("HTTP/1.1 600 X", &[])),
        "status code 600 out of range"
    );
    assert_eq!(
        framing(&head("HTTP/1.1 599 X", &["Content-Length: 0"])),
        Framing::Length(0)
    );
}

#[test]
fn grammar_errors_are_bad() {
    for buf in [
        &b"HTTP/1.1 20 OK\r\n\r\n"[..],
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: y\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
    ] {
        assert!(error(buf).starts_with("invalid response head: "), "{buf:?}");
    }
}

#[test]
fn bare_lf_is_bad() {
    assert_eq!(
        error(b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
        "bare LF in the response head"
    );
    assert_eq!(
        error(b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\n"),
        "bare LF in the response head"
    );
}

#[test]
fn empty_lines_before_the_status_line_are_bad() {
    assert_eq!(
        error(b"\r\nHTTP/1.1 200 OK\r\n\r\n"),
        "empty line before the status line"
    );
    assert_eq!(error(b"\n"), "empty line before the status line");
}

#[test]
fn a_head_over_the_limit_is_bad() {
    let buf = ok(&["Content-Length: 0", "X: 0123456789"]);
    let mut headers = [httparse::EMPTY_HEADER; 16];
    assert!(parse_response(&buf, &mut headers, false, buf.len())
        .unwrap()
        .is_some());
    let err = parse_response(&buf, &mut headers, false, buf.len() - 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("response head larger than {} bytes", buf.len() - 1)
    );
}

#[test]
fn too_many_headers_is_bad() {
    let buf = ok(&["A: 1", "B: 2", "C: 3"]);
    let mut headers = [httparse::EMPTY_HEADER; 2];
    let err = parse_response(&buf, &mut headers, false, MAX).unwrap_err();
    assert_eq!(
        err,
        BadResponse("more than 2 header fields in the response".into())
    );
}

fn for_client(buf: &[u8], close: bool) -> (String, bool) {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let head = parse_response(buf, &mut headers, false, MAX)
        .unwrap()
        .unwrap();
    let mut out = b">".to_vec();
    write_for_client(&head, close, &mut out);
    (String::from_utf8(out).unwrap(), needs_rewrite(&head, close))
}

#[test]
fn a_plain_copy_when_nothing_changes() {
    let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi";
    let (out, rewritten) = for_client(buf, false);
    assert_eq!(out.as_bytes(), [b">", &buf[..buf.len() - 2]].concat());
    assert!(!rewritten);
    // A worker's own `Connection: close` already says what closing would.
    let close = b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        for_client(close, true),
        (format!(">{}", String::from_utf8_lossy(close)), false)
    );
}

#[test]
fn the_keep_alive_header_is_dropped() {
    let buf = b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        for_client(buf, false),
        (">HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(), true)
    );
}

#[test]
fn closing_replaces_every_connection_header() {
    let buf = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
                X: 1\r\nconnection: x\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        for_client(buf, true),
        (
            ">HTTP/1.1 200 OK\r\nX: 1\r\nContent-Length: 0\r\nconnection: close\r\n\r\n".into(),
            true
        )
    );
    let none = b"HTTP/1.1 204 No Content\r\n\r\n";
    assert_eq!(
        for_client(none, true),
        (
            ">HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".into(),
            true
        )
    );
}

#[test]
fn a_workers_close_stays_with_its_virtual_connection() {
    // Node says close when its server drains or the socket is done; the client's own
    // connection is the core's, and stays open.
    let buf = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        for_client(buf, false),
        (">HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(), true)
    );
}
