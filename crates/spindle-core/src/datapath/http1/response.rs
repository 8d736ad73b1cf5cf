//! Response heads from workers: where each response ends (RFC 9112 §6.3), and the head
//! the client receives.

use std::fmt;

use httparse::Header;

use super::fields::{self, Codings, ConnectionOptions, LengthError};
use super::names::Name;
use super::{emit, lines, Framing, Version};

/// A worker's response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHead<'h, 'b> {
    pub status: u16,
    pub version: Version,
    pub headers: &'h [Header<'b>],
    /// Bytes of the buffer the head took, final CRLF included.
    pub head_len: usize,
    pub framing: Framing,
    /// The worker keeps the connection open after this response: HTTP/1.1 without a
    /// `close` option, HTTP/1.0 with `keep-alive`, and never when the body runs until
    /// close.
    pub keep_alive: bool,
    /// The head's bytes, copied to the client as they came when nothing changes.
    pub(super) raw: &'b [u8],
}

/// What was wrong with a worker's response, for a 502 body and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadResponse(pub String);

impl fmt::Display for BadResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadResponse {}

fn bad(what: impl Into<String>) -> BadResponse {
    BadResponse(what.into())
}

/// Reads a response head from the start of `buf`; `request_was_head`: the request was
/// HEAD (no body whatever the headers say). Ok(None): not complete yet.
pub fn parse_response<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
    request_was_head: bool,
    max_head_bytes: usize,
) -> Result<Option<ResponseHead<'h, 'b>>, BadResponse> {
    let window = &buf[..buf.len().min(max_head_bytes)];
    // httparse skips empty lines before a start line; from a worker they can only mean
    // the previous response was longer than its framing said.
    if matches!(window.first(), Some(b'\r' | b'\n')) {
        return Err(bad("empty line before the status line"));
    }
    let slots = headers.len();
    let mut res = httparse::Response::new(headers);
    let head_len = match res.parse(window) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > max_head_bytes => {
            return Err(bad(format!(
                "response head larger than {max_head_bytes} bytes"
            )));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(bad(format!(
                "more than {slots} header fields in the response"
            )));
        }
        Err(e) => return Err(bad(format!("invalid response head: {e}"))),
    };
    let httparse::Response {
        version: Some(minor),
        code: Some(status),
        headers,
        ..
    } = res
    else {
        // httparse fills the status line in before it completes a head.
        return Err(bad("invalid response head: no status line"));
    };
    let raw = &buf[..head_len];
    if lines::has_bare_lf(raw) {
        return Err(bad("bare LF in the response head"));
    }
    // RFC 9110 §15: anything else is invalid, to be treated as a 5xx.
    if !(100..=599).contains(&status) {
        return Err(bad(format!("status code {status} out of range")));
    }
    let version = Version::from_minor(minor);

    let mut length = None;
    let mut length_error = None;
    let mut codings = Codings::default();
    let mut connection = ConnectionOptions::default();
    for h in headers.iter() {
        match Name::of(h.name) {
            Name::ContentLength => {
                if let Err(e) = fields::merge_content_length(&mut length, h.value) {
                    length_error = Some(e);
                }
            }
            Name::TransferEncoding => codings.add(h.value),
            Name::Connection => connection.add(h.value),
            _ => {}
        }
    }

    let no_body =
        (100..200).contains(&status) || status == 204 || status == 304 || request_was_head;
    // Without a body, Content-Length and Transfer-Encoding describe nothing we forward
    // (a HEAD response carries the GET's length), so they are not held against it.
    let framing = if no_body {
        Framing::None
    } else if codings.present {
        if version == Version::Http10 {
            return Err(bad("transfer-encoding in an HTTP/1.0 response"));
        }
        if length.is_some() || length_error.is_some() {
            return Err(bad("content-length with transfer-encoding"));
        }
        if codings.invalid || codings.chunked_count > 1 {
            return Err(bad("invalid transfer-encoding"));
        }
        if codings.last_is_chunked {
            Framing::Chunked
        } else {
            // RFC 9112 §6.3 item 4: chunked not last means the body runs to the close.
            Framing::UntilClose
        }
    } else {
        match (length, length_error) {
            (_, Some(LengthError::Invalid)) => return Err(bad("invalid content-length")),
            (_, Some(LengthError::Conflict)) => {
                return Err(bad("conflicting content-length values"))
            }
            (Some(n), None) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };

    let persistent = !connection.close && (version == Version::Http11 || connection.keep_alive);
    Ok(Some(ResponseHead {
        status,
        version,
        headers,
        head_len,
        framing,
        keep_alive: persistent && framing != Framing::UntilClose,
        raw,
    }))
}

/// Appends the head the client receives: the worker's bytes as they are, except that a
/// `keep-alive` header is dropped, a Connection header saying `close` is dropped (the
/// worker closes its virtual connection, not the client's), and, when `close` is true,
/// every Connection header is replaced by one `connection: close`. A plain copy when
/// none of that applies.
pub fn write_for_client(head: &ResponseHead, close: bool, out: &mut Vec<u8>) {
    if !needs_rewrite(head, close) {
        out.extend_from_slice(head.raw);
        return;
    }
    let headers = head.headers;
    out.reserve(head.head_len + 24);
    out.extend_from_slice(lines::first_line(head.raw));
    for (i, h) in headers.iter().enumerate() {
        let dropped = match Name::of(h.name) {
            Name::KeepAlive => true,
            Name::Connection => close || says_close(h.value),
            _ => false,
        };
        if !dropped {
            lines::push_header_line(out, head.raw, headers, i);
        }
    }
    if close {
        emit::field(out, b"connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
}

/// A worker's `Connection: close` is about its virtual connection, which the core
/// replaces freely; the client's connection stays open unless `close` says otherwise.
fn says_close(value: &[u8]) -> bool {
    fields::list(value).any(|t| t.eq_ignore_ascii_case(b"close"))
}

/// True when [`write_for_client`] would not be a plain copy of `buf[..head_len]`.
pub fn needs_rewrite(head: &ResponseHead, close: bool) -> bool {
    let mut connections = 0;
    let mut all_close = true;
    for h in head.headers {
        match Name::of(h.name) {
            Name::KeepAlive => return true,
            Name::Connection if close => {
                connections += 1;
                all_close &= h.value.eq_ignore_ascii_case(b"close");
            }
            Name::Connection if says_close(h.value) => return true,
            _ => {}
        }
    }
    // One `Connection: close` already says it: Node sends that when it closes.
    close && !(connections == 1 && all_close)
}
