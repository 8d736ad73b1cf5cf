//! The head a worker receives for an accepted request (RFC 9110 §7.6): the client's
//! header lines as they came, without the ones about the client's connection, plus what
//! the worker should know about the client.

use std::net::SocketAddr;

use httparse::Header;

use super::fields::{self, ConnectionOptions};
use super::names::Name;
use super::request::RequestHead;
use super::target::{self, Form};
use super::{emit, lines, Framing, Version};

/// How a request reaches its worker.
#[derive(Clone, Copy, Debug)]
pub struct Forwarding<'a> {
    /// The client's address.
    pub peer: SocketAddr,
    /// A route prefix like "/api" the caller matched on whole path segments: removed from
    /// the path ("/api" → "/", "/api/x?q" → "/x?q") and sent as X-Forwarded-Prefix.
    pub strip_prefix: Option<&'a str>,
    /// The value of X-Forwarded-Proto ("http").
    pub proto: &'static str,
}

/// What happens to one client header line on its way to the worker.
enum Line {
    Keep,
    Drop,
    /// The first Content-Length when it is not one plain number ("5, 5"): a worker sees
    /// one plain value.
    Length,
}

/// Appends the head the worker receives to `out`.
pub fn write_forwarded(head: &RequestHead, fwd: &Forwarding, out: &mut Vec<u8>) {
    out.reserve(head.head_len + 160);
    out.extend_from_slice(head.method.as_bytes());
    out.push(b' ');
    target::write_origin(head.target, fwd.strip_prefix, out);
    out.push(b' ');
    out.extend_from_slice(head.version.as_bytes());
    out.extend_from_slice(b"\r\n");

    let absolute = match target::form(head.target) {
        Some(Form::Absolute { authority, .. }) => Some(authority),
        _ => None,
    };
    let headers = head.headers;
    let connection = head.connection;
    let named = if connection.names_fields {
        named_by_connection(headers)
    } else {
        0
    };

    let mut had_host = false;
    let mut had_length = false;
    // Bits of the X-Forwarded-For lines, whose values lead the chain we write last.
    let mut chain = 0u128;
    for (i, h) in headers.iter().enumerate() {
        let line = match Name::of(h.name) {
            // The body passes as it came, so its framing must too: Connection cannot name
            // these away.
            Name::ContentLength => match std::mem::replace(&mut had_length, true) {
                true => Line::Drop,
                false if fields::is_plain_length(h.value) => Line::Keep,
                false => Line::Length,
            },
            Name::TransferEncoding => Line::Keep,
            Name::Host => {
                had_host = true;
                keep_unless(absolute.is_some())
            }
            // About the client's connection, not the message (RFC 9110 §7.6.1, plus
            // legacy ones clients still send).
            Name::Connection | Name::KeepAlive | Name::ProxyConnection | Name::Te => Line::Drop,
            Name::Upgrade => keep_unless(!head.upgrade),
            // Ours to write, so a client cannot pose as a proxy in front of us.
            Name::XForwardedFor => {
                chain |= bit(i);
                Line::Drop
            }
            Name::XForwardedProto | Name::XForwardedHost => Line::Drop,
            Name::XForwardedPrefix => keep_unless(fwd.strip_prefix.is_some()),
            Name::Expect | Name::Other => keep_unless(named & bit(i) != 0),
        };
        match (line, head.framing) {
            (Line::Drop, _) => {}
            (Line::Length, Framing::Length(n)) => {
                out.extend_from_slice(b"content-length: ");
                emit::push_decimal(out, n);
                out.extend_from_slice(b"\r\n");
            }
            (Line::Keep | Line::Length, _) => lines::push_header_line(out, head.raw, headers, i),
        }
    }

    if head.upgrade && connection.close {
        // Should the worker decline the upgrade, the client still wants the close.
        emit::field(out, b"connection", b"upgrade, close");
    } else if head.upgrade {
        emit::field(out, b"connection", b"upgrade");
    } else if connection.close {
        emit::field(out, b"connection", b"close");
    } else if head.version == Version::Http10 && connection.keep_alive {
        emit::field(out, b"connection", b"keep-alive");
    }
    if let Some(authority) = absolute {
        emit::field(out, b"host", authority.as_bytes());
    } else if head.version == Version::Http10 && !had_host {
        // Workers route and build URLs from Host; HTTP/1.0 clients may not send one.
        emit::field(out, b"host", b"localhost");
    }
    write_forwarded_for(headers, chain, fwd, out);
    emit::field(out, b"x-forwarded-proto", fwd.proto.as_bytes());
    if let Some(host) = head.host {
        emit::field(out, b"x-forwarded-host", host.as_bytes());
    }
    if let Some(prefix) = fwd.strip_prefix {
        emit::field(out, b"x-forwarded-prefix", prefix.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

fn keep_unless(drop: bool) -> Line {
    if drop {
        Line::Drop
    } else {
        Line::Keep
    }
}

/// A bit per header line that a Connection option names (RFC 9110 §7.6.1). Only lines
/// that are none of ours look at it: framing and Host are never dropped this way.
fn named_by_connection(headers: &[Header]) -> u128 {
    let mut named = 0u128;
    let options = headers
        .iter()
        .filter(|h| Name::of(h.name) == Name::Connection)
        .flat_map(|h| fields::list(h.value))
        .filter(|o| !ConnectionOptions::is_special(o));
    for option in options {
        for (i, h) in headers.iter().enumerate() {
            if h.name.as_bytes().eq_ignore_ascii_case(option) {
                named |= bit(i);
            }
        }
    }
    named
}

/// The client's chain (the X-Forwarded-For values at the `chain` bits, in order), then
/// the peer.
fn write_forwarded_for(headers: &[Header], chain: u128, fwd: &Forwarding, out: &mut Vec<u8>) {
    out.extend_from_slice(b"x-forwarded-for: ");
    let values = headers
        .iter()
        .enumerate()
        .filter(|&(i, h)| chain & bit(i) != 0 && !h.value.is_empty());
    for (_, h) in values {
        emit::push_value(out, h.value);
        out.extend_from_slice(b", ");
    }
    emit::push_ip(out, fwd.peer.ip());
    out.extend_from_slice(b"\r\n");
}

/// Header `i`'s bit in a mask; parse_request gives at most `MAX_HEADERS` (128) headers.
fn bit(i: usize) -> u128 {
    u32::try_from(i)
        .ok()
        .and_then(|i| 1u128.checked_shl(i))
        .unwrap_or(0)
}
