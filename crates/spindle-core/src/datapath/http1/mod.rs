//! HTTP/1 framing, owned by us: request heads from clients, response heads from workers,
//! chunked bodies passed through as they are.
//!
//! This is the public port's security boundary, so it is strict per RFC 9112: whatever we
//! accept, a worker's parser (Node's llhttp) must read the same way, or one client could
//! smuggle a request past us inside another's body. Everything here is pure and does not
//! allocate while parsing: heads are read in place with `httparse` into header arrays the
//! caller keeps on its stack, and forwarded heads are appended to the caller's buffers.
//!
//! - [`parse_request`] reads a client's head and refuses what we will not pass on
//!   ([`Rejection`]); [`write_forwarded`] writes the head a worker receives.
//! - [`parse_response`] reads a worker's head to learn where its response ends;
//!   [`write_for_client`] writes the head the client receives.
//! - [`ChunkedDecoder`] follows a chunked body as it streams through unchanged.

pub mod chunked;
pub mod request;
pub mod response;

mod emit;
mod fields;
mod forward;
mod lines;
mod names;
mod target;

#[cfg(test)]
mod chunked_tests;
#[cfg(test)]
mod forward_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod response_tests;
#[cfg(test)]
mod test_support;

pub use chunked::{ChunkError, ChunkedDecoder};
pub use request::{parse_request, write_forwarded, Forwarding, RequestHead};
pub use response::{needs_rewrite, parse_response, write_for_client, BadResponse, ResponseHead};

/// Size of the `httparse::Header` arrays callers allocate (on the stack) for one head.
pub const MAX_HEADERS: usize = 128;

/// Bounds on what one client may make us parse and hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The request line and header section together, final CRLF included.
    pub max_head_bytes: usize,
    /// Header field lines; at most [`MAX_HEADERS`] (more are not looked at).
    pub max_headers: usize,
    /// The request-target as sent.
    pub max_target_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_target_bytes: 8 * 1024,
        }
    }
}

/// The HTTP versions we speak; anything else is refused before it reaches a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    fn from_minor(minor: u8) -> Version {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }

    fn as_bytes(self) -> &'static [u8] {
        match self {
            Version::Http10 => b"HTTP/1.0",
            Version::Http11 => b"HTTP/1.1",
        }
    }
}

/// How a message's body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked: follow it with a [`ChunkedDecoder`].
    Chunked,
    /// Everything until the worker closes the connection (responses only).
    UntilClose,
}

/// A request refused before it reaches a worker: answer `status` and close the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    /// Short and lowercase, for the body and the log, e.g. "content-length with
    /// transfer-encoding".
    pub reason: &'static str,
}

impl Rejection {
    /// A request head begun but not finished within the head timeout.
    pub const HEAD_TIMEOUT: Rejection = Rejection::new(
        408,
        "the request head did not arrive within the server's headersTimeout",
    );
    /// A request body that made no progress within the body timeout.
    pub const BODY_TIMEOUT: Rejection = Rejection::new(
        408,
        "the request body made no progress within the server's bodyTimeout",
    );
    /// A Content-Length over `server.maxBodySize`.
    pub const TOO_LARGE: Rejection = Rejection::new(
        413,
        "the request body is larger than the server's maxBodySize",
    );

    const fn new(status: u16, reason: &'static str) -> Rejection {
        Rejection { status, reason }
    }

    const fn bad(reason: &'static str) -> Rejection {
        Rejection::new(400, reason)
    }

    /// A chunked request body that broke its framing.
    pub const fn bad_body(reason: &'static str) -> Rejection {
        Rejection::bad(reason)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl std::error::Error for Rejection {}
