//! parse_request, one rule at a time.

use super::test_support::head;
use super::*;

/// What a test looks at in an accepted head, owned so it outlives the header array.
#[derive(Debug, PartialEq)]
struct Seen {
    method: String,
    target: String,
    path: String,
    version: Version,
    head_len: usize,
    framing: Framing,
    keep_alive: bool,
    upgrade: bool,
    expect_continue: bool,
    host: Option<String>,
    headers: usize,
}

fn parse_with(buf: &[u8], limits: &Limits) -> Result<Option<Seen>, Rejection> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let head = parse_request(buf, &mut headers, limits)?;
    Ok(head.map(|h| Seen {
        method: h.method.into(),
        target: h.target.into(),
        path: h.path().into(),
        version: h.version,
        head_len: h.head_len,
        framing: h.framing,
        keep_alive: h.keep_alive,
        upgrade: h.upgrade,
        expect_continue: h.expect_continue,
        host: h.host.map(Into::into),
        headers: h.headers.len(),
    }))
}

fn parse(buf: &[u8]) -> Result<Option<Seen>, Rejection> {
    parse_with(buf, &Limits::default())
}

fn accepted(buf: &[u8]) -> Seen {
    match parse(buf) {
        Ok(Some(seen)) => seen,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
    }
}

fn status(buf: &[u8]) -> u16 {
    status_with(buf, &Limits::default())
}

fn status_with(buf: &[u8], limits: &Limits) -> u16 {
    match parse_with(buf, limits) {
        Err(r) => r.status,
        Ok(other) => panic!("{:?} accepted: {other:?}", String::from_utf8_lossy(buf)),
    }
}

/// A request with these header lines and an empty body.
fn req(version: &str, lines: &[&str]) -> Vec<u8> {
    head(&format!("GET /x HTTP/{version}"), lines)
}

fn get(lines: &[&str]) -> Vec<u8> {
    req("1.1", lines)
}

#[test]
fn a_plain_get() {
    let buf = b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\nBODY";
    let seen = accepted(buf);
    assert_eq!(
        seen,
        Seen {
            method: "GET".into(),
            target: "/a/b?c=d".into(),
            path: "/a/b".into(),
            version: Version::Http11,
            head_len: buf.len() - 4,
            framing: Framing::None,
            keep_alive: true,
            upgrade: false,
            expect_continue: false,
            host: Some("example.com".into()),
            headers: 2,
        }
    );
}

#[test]
fn an_incomplete_head_is_none() {
    let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for end in 0..buf.len() {
        assert_eq!(parse(&buf[..end]), Ok(None), "{end}");
    }
    assert!(parse(buf).unwrap().is_some());
}

#[test]
fn empty_lines_before_the_request_line_are_skipped() {
    let buf = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(accepted(buf).head_len, buf.len());
}

#[test]
fn an_incomplete_head_larger_than_the_limit_is_431() {
    let limits = Limits {
        max_head_bytes: 64,
        ..Limits::default()
    };
    let mut buf = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    buf.resize(64, b'x');
    assert_eq!(parse_with(&buf, &limits), Ok(None));
    buf.push(b'x');
    assert_eq!(status_with(&buf, &limits), 431);
}

#[test]
fn a_complete_head_larger_than_the_limit_is_431() {
    let buf = get(&["Host: a", "X: 0123456789"]);
    let exact = Limits {
        max_head_bytes: buf.len(),
        ..Limits::default()
    };
    assert!(parse_with(&buf, &exact).unwrap().is_some());
    let less = Limits {
        max_head_bytes: buf.len() - 1,
        ..Limits::default()
    };
    assert_eq!(status_with(&buf, &less), 431);
}

#[test]
fn a_body_beyond_the_head_limit_is_fine() {
    let limits = Limits {
        max_head_bytes: 64,
        ..Limits::default()
    };
    let mut buf = get(&["Host: a", "Content-Length: 1000"]);
    buf.extend_from_slice(&[b'x'; 1000]);
    assert_eq!(
        parse_with(&buf, &limits).unwrap().unwrap().framing,
        Framing::Length(1000)
    );
}

#[test]
fn more_headers_than_the_limit_is_431() {
    let limits = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    assert!(parse_with(&get(&["Host: a", "B: 1", "C: 1"]), &limits)
        .unwrap()
        .is_some());
    assert_eq!(
        status_with(&get(&["Host: a", "B: 1", "C: 1", "D: 1"]), &limits),
        431
    );
    assert_eq!(
        parse_with(&get(&["Host: a", "B: 1", "C: 1", "D: 1"]), &limits)
            .unwrap_err()
            .reason,
        "too many headers"
    );
}

#[test]
fn the_header_limit_is_also_the_callers_array() {
    let limits = Limits {
        max_headers: 100,
        ..Limits::default()
    };
    let mut headers = [httparse::EMPTY_HEADER; 2];
    let buf = get(&["Host: a", "B: 1", "C: 1"]);
    assert_eq!(
        parse_request(&buf, &mut headers, &limits)
            .unwrap_err()
            .status,
        431
    );
}

#[test]
fn a_long_target_is_414() {
    let limits = Limits {
        max_target_bytes: 10,
        ..Limits::default()
    };
    let ok = b"GET /123456789 HTTP/1.1\r\nHost: a\r\n\r\n";
    assert!(parse_with(ok, &limits).unwrap().is_some());
    assert_eq!(
        status_with(b"GET /1234567890 HTTP/1.1\r\nHost: a\r\n\r\n", &limits),
        414
    );
}

#[test]
fn a_long_target_is_414_before_the_head_is_complete() {
    let limits = Limits {
        max_target_bytes: 10,
        ..Limits::default()
    };
    // The request line is complete, the head is not.
    assert_eq!(status_with(b"GET /1234567890 HTTP/1.1\r\nHo", &limits), 414);
    // The target itself is still arriving.
    assert_eq!(status_with(b"GET /1234567890", &limits), 414);
    assert_eq!(parse_with(b"GET /123456789", &limits), Ok(None));
    // Also after empty lines.
    assert_eq!(status_with(b"\r\nGET /1234567890", &limits), 414);
}

#[test]
fn other_versions_are_505() {
    for v in ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"] {
        let buf = format!("GET / {v}\r\nHost: a\r\n\r\n");
        assert_eq!(status(buf.as_bytes()), 505, "{v}");
    }
    // Known to be another version before the line is over.
    assert_eq!(status(b"GET / HTTP/2"), 505);
    assert_eq!(status(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

#[test]
fn a_malformed_version_is_400() {
    for v in [
        "HTTP/1.1x",
        "http/1.1",
        "HTTPS/1.1",
        "HTTP/1.x",
        "HTTP/11.1",
        "HTTP/1.1 ",
    ] {
        let buf = format!("GET / {v}\r\nHost: a\r\n\r\n");
        assert_eq!(status(buf.as_bytes()), 400, "{v}");
    }
    // HTTP/0.9's request line has no version.
    assert_eq!(status(b"GET /\r\n\r\n"), 400);
}

#[test]
fn request_line_grammar_errors_are_400() {
    for line in [
        "GET  / HTTP/1.1",
        "GET / HTTP/1.1 ",
        " GET / HTTP/1.1",
        "G(T / HTTP/1.1",
        "GET /a\tb HTTP/1.1",
        "GET /\x7f HTTP/1.1",
        "GET",
    ] {
        let buf = format!("{line}\r\nHost: a\r\n\r\n");
        assert_eq!(status(buf.as_bytes()), 400, "{line:?}");
    }
}

#[test]
fn a_target_that_is_not_utf8_is_400() {
    assert_eq!(status(b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

#[test]
fn bare_cr_is_400() {
    assert_eq!(status(b"GET / HTTP/1.1\rHost: a\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"), 400);
    assert_eq!(status(b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

#[test]
fn bare_lf_is_400() {
    for buf in [
        &b"GET / HTTP/1.1\nHost: a\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        let err = parse(buf).unwrap_err();
        assert_eq!(
            err,
            Rejection {
                status: 400,
                reason: "bare lf in head"
            },
            "{buf:?}"
        );
    }
}

#[test]
fn obs_fold_is_400() {
    let err = parse(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n").unwrap_err();
    assert_eq!(
        err,
        Rejection {
            status: 400,
            reason: "obs-fold"
        }
    );
    assert_eq!(
        status(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n"),
        400
    );
    assert_eq!(status(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
}

#[test]
fn whitespace_before_the_colon_is_400() {
    assert_eq!(status(&get(&["Host : a"])), 400);
    assert_eq!(status(&get(&["Host: a", "Content-Length\t: 0"])), 400);
}

#[test]
fn bad_header_bytes_are_400() {
    assert_eq!(status(&get(&["Host: a", "X\u{1}: 1"])), 400);
    assert_eq!(status(&get(&["Host: a", "X: a\u{0}b"])), 400);
    assert_eq!(status(&get(&["Host: a", "X: a\u{7f}b"])), 400);
    assert_eq!(status(&get(&["Host: a", ": empty name"])), 400);
}

#[test]
fn content_length_with_transfer_encoding_is_400() {
    let err = parse(&get(&[
        "Host: a",
        "Content-Length: 5",
        "Transfer-Encoding: chunked",
    ]));
    assert_eq!(
        err,
        Err(Rejection {
            status: 400,
            reason: "content-length with transfer-encoding"
        })
    );
    assert_eq!(
        status(&get(&[
            "Host: a",
            "Transfer-Encoding: chunked",
            "content-length: 0"
        ])),
        400
    );
}

#[test]
fn content_length_must_be_digits_that_fit() {
    for v in [
        "",
        "+5",
        "-5",
        " 5 5",
        "5a",
        "0x10",
        "1e3",
        "18446744073709551616",
        "5,",
        ",5",
        "5,,5",
    ] {
        let line = format!("Content-Length: {v}");
        assert_eq!(status(&get(&["Host: a", &line])), 400, "{v:?}");
    }
    let max = get(&["Host: a", "Content-Length: 18446744073709551615"]);
    assert_eq!(accepted(&max).framing, Framing::Length(u64::MAX));
}

#[test]
fn differing_content_lengths_are_400() {
    assert_eq!(
        status(&get(&["Host: a", "Content-Length: 5", "Content-Length: 6"])),
        400
    );
    assert_eq!(status(&get(&["Host: a", "Content-Length: 5, 6"])), 400);
    assert_eq!(
        parse(&get(&["Host: a", "Content-Length: 5, 6"]))
            .unwrap_err()
            .reason,
        "conflicting content-length values"
    );
}

#[test]
fn identical_content_lengths_are_one() {
    let buf = get(&["Host: a", "Content-Length: 5", "content-length: 5"]);
    assert_eq!(accepted(&buf).framing, Framing::Length(5));
    assert_eq!(
        accepted(&get(&["Host: a", "Content-Length: 5 ,5"])).framing,
        Framing::Length(5)
    );
    assert_eq!(
        accepted(&get(&["Host: a", "Content-Length: 0"])).framing,
        Framing::Length(0)
    );
}

#[test]
fn transfer_encoding_must_end_in_one_chunked() {
    for ok in [
        &["Transfer-Encoding: chunked"][..],
        &["Transfer-Encoding: CHUNKED"],
        &["Transfer-Encoding:  gzip ,chunked "],
        &["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
        &["Transfer-Encoding: gzip, , chunked"],
    ] {
        let mut lines = vec!["Host: a"];
        lines.extend_from_slice(ok);
        assert_eq!(accepted(&get(&lines)).framing, Framing::Chunked, "{ok:?}");
    }
    for bad in [
        &["Transfer-Encoding: gzip"][..],
        &["Transfer-Encoding: chunked, gzip"],
        &["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
        &["Transfer-Encoding: chunked, chunked"],
        &["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
        &["Transfer-Encoding: "],
        &["Transfer-Encoding: chunked;x=1"],
        &["Transfer-Encoding: \"chunked\""],
        &["Transfer-Encoding: xchunked"],
    ] {
        let mut lines = vec!["Host: a"];
        lines.extend_from_slice(bad);
        assert_eq!(status(&get(&lines)), 400, "{bad:?}");
    }
}

#[test]
fn transfer_encoding_in_http10_is_400() {
    let err = parse(&req("1.0", &["Transfer-Encoding: chunked"])).unwrap_err();
    assert_eq!(
        err,
        Rejection {
            status: 400,
            reason: "transfer-encoding in http/1.0"
        }
    );
}

#[test]
fn framing_follows_the_headers() {
    assert_eq!(accepted(&get(&["Host: a"])).framing, Framing::None);
    assert_eq!(
        accepted(&get(&["Host: a", "Content-Length: 12"])).framing,
        Framing::Length(12)
    );
    let chunked = get(&["Host: a", "Transfer-Encoding: chunked"]);
    assert_eq!(accepted(&chunked).framing, Framing::Chunked);
}

#[test]
fn http11_needs_exactly_one_host() {
    let err = parse(&get(&[])).unwrap_err();
    assert_eq!(
        err,
        Rejection {
            status: 400,
            reason: "missing host header"
        }
    );
    assert_eq!(status(&get(&["Host: a", "Host: a"])), 400);
    assert_eq!(status(&req("1.0", &["Host: a", "host: b"])), 400);
    // Even with an absolute-form target (RFC 9112 §3.2).
    assert_eq!(status(b"GET http://a/ HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(accepted(&req("1.0", &[])).host, None);
}

#[test]
fn the_host_must_be_an_authority() {
    for bad in ["a b", "a/b", "u@a", "a:x", "[::1", "a,b c", "\u{e9}"] {
        let line = format!("Host: {bad}");
        assert_eq!(status(&get(&[&line])), 400, "{bad:?}");
    }
    for good in ["a", "a.b:8080", "[::1]:80", "xn--bcher-kva.example"] {
        let line = format!("Host: {good}");
        assert_eq!(accepted(&get(&[&line])).host.as_deref(), Some(good));
    }
    // An empty Host is what a client sends for a target without an authority.
    assert_eq!(accepted(&get(&["Host:"])).host, None);
}

#[test]
fn absolute_form_takes_its_host_from_the_target() {
    let seen = accepted(b"GET HTTP://Example.com:81/p/q?x HTTP/1.1\r\nHost: other\r\n\r\n");
    assert_eq!(seen.host.as_deref(), Some("Example.com:81"));
    assert_eq!(seen.path, "/p/q");
    assert_eq!(
        accepted(b"GET https://e.com HTTP/1.1\r\nHost: e.com\r\n\r\n").path,
        "/"
    );
    assert_eq!(
        accepted(b"GET http://e.com?x HTTP/1.1\r\nHost: e.com\r\n\r\n").path,
        "/"
    );
}

#[test]
fn asterisk_form_is_for_options_only() {
    let seen = accepted(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(seen.path, "*");
    assert_eq!(status(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

#[test]
fn other_targets_are_400() {
    for target in [
        "a/b",
        "example.com:443",
        "ftp://a/b",
        "http://",
        "http:///p",
        "http://u@a/",
    ] {
        let buf = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(status(buf.as_bytes()), 400, "{target}");
    }
    // An empty first segment is still origin-form.
    assert_eq!(accepted(b"GET //x HTTP/1.1\r\nHost: a\r\n\r\n").path, "//x");
}

#[test]
fn connect_is_501() {
    let err =
        parse(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").unwrap_err();
    assert_eq!(
        err,
        Rejection {
            status: 501,
            reason: "connect is not supported"
        }
    );
}

#[test]
fn keep_alive() {
    assert!(accepted(&get(&["Host: a"])).keep_alive);
    assert!(!accepted(&get(&["Host: a", "Connection: close"])).keep_alive);
    assert!(!accepted(&get(&["Host: a", "Connection: foo, CLOSE"])).keep_alive);
    assert!(!accepted(&get(&["Host: a", "Connection: foo", "Connection: close"])).keep_alive);
    assert!(!accepted(&req("1.0", &[])).keep_alive);
    assert!(accepted(&req("1.0", &["Connection: Keep-Alive"])).keep_alive);
    assert!(!accepted(&req("1.0", &["Connection: keep-alive, close"])).keep_alive);
    // A token that only contains the word is not the option.
    assert!(accepted(&get(&["Host: a", "Connection: closed"])).keep_alive);
}

#[test]
fn upgrade() {
    let ws = [
        "Host: a",
        "Connection: keep-alive, Upgrade",
        "Upgrade: websocket",
    ];
    assert!(accepted(&get(&ws)).upgrade);
    assert!(!accepted(&get(&["Host: a", "Connection: upgrade"])).upgrade);
    assert!(!accepted(&get(&["Host: a", "Upgrade: websocket"])).upgrade);
    assert!(!accepted(&req("1.0", &ws)).upgrade);
}

#[test]
fn expect_continue() {
    assert!(accepted(&get(&["Host: a", "Expect: 100-continue"])).expect_continue);
    assert!(accepted(&get(&["Host: a", "expect: 100-Continue"])).expect_continue);
    assert!(!accepted(&get(&["Host: a", "Expect: 200-ok"])).expect_continue);
    assert!(!accepted(&get(&["Host: a"])).expect_continue);
    assert!(!accepted(&req("1.0", &["Expect: 100-continue"])).expect_continue);
}

#[test]
fn methods() {
    let idempotent = |m: &str| {
        let buf = format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let head = parse_request(buf.as_bytes(), &mut headers, &Limits::default());
        let head = head.unwrap().unwrap();
        (head.is_idempotent(), head.is_head())
    };
    for m in ["GET", "OPTIONS", "PUT", "DELETE", "TRACE"] {
        assert_eq!(idempotent(m), (true, false), "{m}");
    }
    assert_eq!(idempotent("HEAD"), (true, true));
    for m in ["POST", "PATCH", "get", "PROPFIND"] {
        assert_eq!(idempotent(m), (false, false), "{m}");
    }
}
