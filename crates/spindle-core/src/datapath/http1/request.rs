//! Request heads from clients (RFC 9112 §2–§3, §6), checked before anything reaches a
//! worker.

use httparse::Header;

use super::fields::{self, Codings, ConnectionOptions, LengthError};
use super::names::Name;
use super::target::{self, Form};
use super::{lines, Framing, Limits, Rejection, Version, MAX_HEADERS};

pub use super::forward::{write_forwarded, Forwarding};

/// A client's request head, accepted: it means one thing to us and to any worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead<'h, 'b> {
    pub method: &'b str,
    /// As sent.
    pub target: &'b str,
    pub version: Version,
    pub headers: &'h [Header<'b>],
    /// Bytes of the buffer the head took, final CRLF included.
    pub head_len: usize,
    /// None, Length or Chunked.
    pub framing: Framing,
    /// The client may send another request after this exchange: HTTP/1.1 without a
    /// `close` Connection option; HTTP/1.0 with a `keep-alive` one.
    pub keep_alive: bool,
    /// HTTP/1.1, a Connection `upgrade` option and an Upgrade header.
    pub upgrade: bool,
    /// `Expect: 100-continue` in an HTTP/1.1 request (HTTP/1.0 ones must ignore it, RFC
    /// 9110 §10.1.1).
    pub expect_continue: bool,
    /// The authority of an absolute-form target, else a non-empty Host header.
    pub host: Option<&'b str>,
    /// The head's bytes, for copying header lines as they came.
    pub(super) raw: &'b [u8],
    /// What the Connection fields said, for the head the worker gets.
    pub(super) connection: ConnectionOptions,
}

impl RequestHead<'_, '_> {
    /// The path without the query: origin-form as is; absolute-form's path part ("/" if
    /// empty); "*" for asterisk-form.
    pub fn path(&self) -> &str {
        target::path(self.target)
    }

    /// RFC 9110 §9.2.2: a retry after a failure cannot do harm.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self.method,
            "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "TRACE"
        )
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

const HEAD_TOO_LARGE: Rejection = Rejection::new(431, "request head too large");
const TOO_MANY_HEADERS: Rejection = Rejection::new(431, "too many headers");
const TARGET_TOO_LONG: Rejection = Rejection::new(414, "request target too long");

/// Reads a request head from the start of `buf`. Ok(None): the head is not complete yet
/// (the caller reads more and calls again with the whole buffer).
pub fn parse_request<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
    limits: &Limits,
) -> Result<Option<RequestHead<'h, 'b>>, Rejection> {
    // Never look further than a head may be: a caller holding a large buffer (a head and
    // a body) costs no more than one holding the head.
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    let slots = limits.max_headers.min(MAX_HEADERS).min(headers.len());
    let mut req = httparse::Request::new(&mut headers[..slots]);
    let head_len = match req.parse(window) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            check_target(window, limits)?;
            // The whole window is taken and the head is still not over.
            return if buf.len() > limits.max_head_bytes {
                Err(HEAD_TOO_LARGE)
            } else {
                Ok(None)
            };
        }
        Err(e) => {
            check_target(window, limits)?;
            return Err(rejection_for(e, window));
        }
    };
    let httparse::Request {
        method: Some(method),
        path: Some(target),
        version: Some(minor),
        headers,
        ..
    } = req
    else {
        // httparse fills the request line in before it completes a head.
        return Err(Rejection::bad("invalid request line"));
    };
    let raw = &buf[..head_len];
    if target.len() > limits.max_target_bytes {
        return Err(TARGET_TOO_LONG);
    }
    if lines::has_bare_lf(raw) {
        return Err(Rejection::bad("bare lf in head"));
    }
    let version = Version::from_minor(minor);
    if method == "CONNECT" {
        return Err(Rejection::new(501, "connect is not supported"));
    }
    let form = target::form(target).ok_or(Rejection::bad("invalid request target"))?;
    if form == Form::Asterisk && method != "OPTIONS" {
        return Err(Rejection::bad("asterisk-form target without options"));
    }
    let facts = Facts::of(headers)?;

    let framing = if facts.codings.present {
        if version == Version::Http10 {
            // HTTP/1.0 has no transfer codings: its framing would be faulty (RFC 9112 §6.1).
            return Err(Rejection::bad("transfer-encoding in http/1.0"));
        }
        if facts.length.is_some() {
            return Err(Rejection::bad("content-length with transfer-encoding"));
        }
        if !facts.codings.is_final_chunked() {
            return Err(Rejection::bad("transfer-encoding is not chunked"));
        }
        Framing::Chunked
    } else {
        facts.length.map_or(Framing::None, Framing::Length)
    };

    // RFC 9112 §3.2: a Host field, exactly one, even with an absolute-form target.
    if facts.hosts > 1 {
        return Err(Rejection::bad("more than one host header"));
    }
    if facts.hosts == 0 && version == Version::Http11 {
        return Err(Rejection::bad("missing host header"));
    }
    if !facts.host.is_empty() && !target::is_authority(facts.host) {
        return Err(Rejection::bad("invalid host header"));
    }
    let host = match form {
        // The target's authority wins over Host (RFC 9112 §3.2.2).
        Form::Absolute { authority, .. } => Some(authority),
        // Checked above to be an authority, so ASCII.
        _ => std::str::from_utf8(facts.host)
            .ok()
            .filter(|h| !h.is_empty()),
    };

    let conn = facts.connection;
    let http11 = version == Version::Http11;
    Ok(Some(RequestHead {
        method,
        target,
        version,
        headers,
        head_len,
        framing,
        keep_alive: !conn.close && (http11 || conn.keep_alive),
        upgrade: http11 && conn.upgrade && facts.upgrade_field,
        expect_continue: http11 && facts.expect_continue,
        host,
        raw,
        connection: conn,
    }))
}

/// What the header section says about framing, the connection and the host.
#[derive(Default)]
struct Facts<'b> {
    hosts: u32,
    host: &'b [u8],
    length: Option<u64>,
    codings: Codings,
    connection: ConnectionOptions,
    upgrade_field: bool,
    expect_continue: bool,
}

impl<'b> Facts<'b> {
    fn of(headers: &[Header<'b>]) -> Result<Facts<'b>, Rejection> {
        let mut facts = Facts::default();
        for h in headers {
            match Name::of(h.name) {
                Name::Host => {
                    facts.hosts += 1;
                    facts.host = h.value;
                }
                Name::ContentLength => fields::merge_content_length(&mut facts.length, h.value)
                    .map_err(|e| match e {
                        LengthError::Invalid => Rejection::bad("invalid content-length"),
                        LengthError::Conflict => {
                            Rejection::bad("conflicting content-length values")
                        }
                    })?,
                Name::TransferEncoding => facts.codings.add(h.value),
                Name::Connection => facts.connection.add(h.value),
                Name::Upgrade => facts.upgrade_field = true,
                Name::Expect => {
                    facts.expect_continue |=
                        fields::list(h.value).any(|e| e.eq_ignore_ascii_case(b"100-continue"))
                }
                _ => {}
            }
        }
        Ok(facts)
    }
}

/// 414 as soon as the target is known to be too long, even before the head is complete.
fn check_target(window: &[u8], limits: &Limits) -> Result<(), Rejection> {
    match request_line(window).target {
        Some(t) if t.len() > limits.max_target_bytes => Err(TARGET_TOO_LONG),
        _ => Ok(()),
    }
}

fn rejection_for(e: httparse::Error, window: &[u8]) -> Rejection {
    use httparse::Error as E;
    match e {
        E::TooManyHeaders => TOO_MANY_HEADERS,
        // httparse says Version for any bad byte where the version goes; only a
        // well-formed HTTP-version we do not speak is a 505 (RFC 9110 §15.6.6).
        E::Version if request_line(window).version.is_some_and(is_http_version) => {
            Rejection::new(505, "http version not supported")
        }
        E::Version => Rejection::bad("invalid http version"),
        E::HeaderName if has_line_starting_with_whitespace(window) => Rejection::bad("obs-fold"),
        E::HeaderName => Rejection::bad("invalid header name"),
        E::HeaderValue => Rejection::bad("invalid header value"),
        E::NewLine => Rejection::bad("invalid line ending"),
        E::Token | E::Status => Rejection::bad("invalid request line"),
    }
}

/// `HTTP/` DIGIT `.` DIGIT, or as much of it as has arrived.
fn is_http_version(v: &[u8]) -> bool {
    const SHAPE: &[u8] = b"HTTP/0.0";
    (6..=SHAPE.len()).contains(&v.len())
        && v.iter().zip(SHAPE).all(|(&b, &s)| match s {
            b'0' => b.is_ascii_digit(),
            _ => b == s,
        })
}

fn has_line_starting_with_whitespace(window: &[u8]) -> bool {
    window
        .windows(2)
        .any(|w| w[0] == b'\n' && (w[1] == b' ' || w[1] == b'\t'))
}

/// The pieces of a request line so far, found without `httparse` so that they are known
/// while the head is partial or after `httparse` gave up.
#[derive(Default)]
struct RequestLine<'b> {
    /// Possibly still arriving.
    target: Option<&'b [u8]>,
    version: Option<&'b [u8]>,
}

fn request_line(window: &[u8]) -> RequestLine<'_> {
    let is_end = |b: &u8| matches!(b, b' ' | b'\r' | b'\n');
    // httparse skips empty lines before the request line; so do we.
    let Some(start) = window.iter().position(|&b| b != b'\r' && b != b'\n') else {
        return RequestLine::default();
    };
    let line = &window[start..];
    let Some(sp) = line.iter().position(is_end).filter(|&i| line[i] == b' ') else {
        return RequestLine::default();
    };
    let after_method = &line[sp + 1..];
    let target_len = after_method.iter().position(is_end);
    let target = Some(&after_method[..target_len.unwrap_or(after_method.len())]);
    let version = target_len
        .filter(|&i| after_method[i] == b' ')
        .map(|i| &after_method[i + 1..])
        .map(|rest| &rest[..rest.iter().position(is_end).unwrap_or(rest.len())]);
    RequestLine { target, version }
}
