//! The head a worker receives for an accepted request (RFC 9110 §7.6): the client's
//! header lines as they came, without the ones about the client's connection, plus what
//! the worker should know about the client. What the client says about earlier hops
//! (`X-Forwarded-*`, `Forwarded`) is kept only from a peer `server.trustProxy` trusts.

use std::net::SocketAddr;

use httparse::Header;

use super::fields::{self, ConnectionOptions};
use super::names::Name;
use super::request::RequestHead;
use super::target::{self, Form};
use super::{emit, lines, Framing, Version};
use spindle_config::TrustProxy;

/// How a request reaches its worker.
#[derive(Clone, Copy, Debug)]
pub struct Forwarding<'a> {
    /// The client's address.
    pub peer: SocketAddr,
    /// A route prefix like "/api" the caller matched on whole path segments: removed from
    /// the path ("/api" → "/", "/api/x?q" → "/x?q") and sent as X-Forwarded-Prefix.
    pub strip_prefix: Option<&'a str>,
    /// The value of X-Forwarded-Proto ("http") unless a trusted peer sent one.
    pub proto: &'static str,
    /// Whose forwarding headers are believed.
    pub trust: &'a TrustProxy,
    /// The `traceparent` (and `tracestate`) lines of the core's span, written instead of
    /// the client's; `None` passes the client's on as they came.
    pub trace: Option<&'a [u8]>,
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
    let trusted = fwd.trust.trusts_peer(fwd.peer.ip());
    // From a trusted peer: which forwarding lines it sent, kept instead of ours.
    let (mut had_proto, mut had_fwd_host, mut had_forwarded) = (false, false, false);
    let mut their_prefix: Option<&[u8]> = None;
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
            Name::XForwardedProto => keep_if(trusted, &mut had_proto),
            Name::XForwardedHost => keep_if(trusted, &mut had_fwd_host),
            Name::Forwarded => keep_if(trusted, &mut had_forwarded),
            Name::XForwardedPrefix if trusted && fwd.strip_prefix.is_some() => {
                // Joined with ours below.
                their_prefix.get_or_insert(h.value.trim_ascii());
                Line::Drop
            }
            Name::XForwardedPrefix => keep_unless(!trusted),
            Name::TraceParent | Name::TraceState if fwd.trace.is_some() => Line::Drop,
            Name::TraceParent | Name::TraceState | Name::Expect | Name::Other => {
                keep_unless(named & bit(i) != 0)
            }
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
    write_forwarded_for(headers, if trusted { chain } else { 0 }, fwd, out);
    if !had_proto {
        emit::field(out, b"x-forwarded-proto", fwd.proto.as_bytes());
    }
    if let (false, Some(host)) = (had_fwd_host, head.host) {
        emit::field(out, b"x-forwarded-host", host.as_bytes());
    }
    if let Some(prefix) = fwd.strip_prefix {
        out.extend_from_slice(b"x-forwarded-prefix: ");
        if let Some(outer) = their_prefix {
            emit::push_value(out, outer.strip_suffix(b"/").unwrap_or(outer));
        }
        emit::push_value(out, prefix.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if had_forwarded {
        // A trusted proxy's Forwarded list, extended by our hop (RFC 7239 §4).
        out.extend_from_slice(b"forwarded: for=");
        match fwd.peer.ip().to_canonical() {
            ip @ std::net::IpAddr::V4(_) => emit::push_ip(out, ip),
            ip => {
                out.extend_from_slice(b"\"[");
                emit::push_ip(out, ip);
                out.extend_from_slice(b"]\"");
            }
        }
        out.extend_from_slice(b";proto=");
        out.extend_from_slice(fwd.proto.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(lines) = fwd.trace {
        out.extend_from_slice(lines);
    }
    out.extend_from_slice(b"\r\n");
}

/// A forwarding line is kept from a trusted peer (noting that it came), else dropped.
fn keep_if(trusted: bool, had: &mut bool) -> Line {
    *had |= trusted;
    keep_unless(!trusted)
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

/// The trusted end of the client's chain (the X-Forwarded-For values at the `chain`
/// bits, in order), then the peer.
fn write_forwarded_for(headers: &[Header], chain: u128, fwd: &Forwarding, out: &mut Vec<u8>) {
    out.extend_from_slice(b"x-forwarded-for: ");
    if chain != 0 {
        let entries: Vec<&[u8]> = headers
            .iter()
            .enumerate()
            .filter(|&(i, _)| chain & bit(i) != 0)
            .flat_map(|(_, h)| h.value.split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|e| !e.is_empty())
            .collect();
        let kept = fwd.trust.kept(&entries);
        for entry in &entries[entries.len() - kept..] {
            emit::push_value(out, entry);
            out.extend_from_slice(b", ");
        }
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
