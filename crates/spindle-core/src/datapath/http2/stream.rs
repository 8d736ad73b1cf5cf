//! One HTTP/2 stream as a client connection that carries one HTTP/1.1 request: the data
//! path reads the request as an HTTP/1.1 head and body ([`super::request`]), and what it
//! writes (the worker's answer, as the answer code passes it to a client, or a reply of
//! the core's own) is read back here as an HTTP/1.1 response and sent as the stream's
//! HEADERS and DATA. So every HTTP/2 request takes the same path as an HTTP/1.1 one:
//! routing, limits, worker choice, queue, retries, timeouts and the core's 502/503/504.
//!
//! Like TLS, only the stream's task writes ([`ClientIo::try_write`] says `WouldBlock`).
//! What is written is held to the stream's flow control: `poll_write` takes no more while
//! a window's worth waits for the client, and that backpressure reaches the worker.

use std::io;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderName, HeaderValue, Response, StatusCode};

use super::request::BodyFraming;
use crate::datapath::client::ClientIo;
use crate::datapath::http1::{self, ChunkedDecoder, Framing};

/// Body bytes held for the client's flow-control window before `poll_write` waits.
const MAX_HELD: usize = 64 * 1024;
/// Largest response head taken from the data path (as the answer code allows).
const MAX_RESPONSE_HEAD: usize = 256 * 1024;

pub struct H2Stream {
    inner: Mutex<Inner>,
}

struct Inner {
    /// The request head, until the data path read it.
    head: Option<Vec<u8>>,
    body: RecvStream,
    framing: BodyFraming,
    /// The request body was all handed on.
    body_done: bool,
    head_only: bool,
    respond: Option<SendResponse<Bytes>>,
    send: Option<SendStream<Bytes>>,
    response: ResponseState,
    /// A response head not complete yet.
    rbuf: BytesMut,
    /// Body bytes waiting for the client's window.
    held: BytesMut,
    /// END_STREAM was sent (or the stream was reset): nothing more goes.
    ended: bool,
}

enum ResponseState {
    Head,
    Body(Body),
    /// The whole response was read; END_STREAM goes once `held` is sent.
    Done,
    /// What came was not a response we can pass on: the stream is reset.
    Broken,
}

enum Body {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

impl H2Stream {
    /// A stream whose request was accepted; `head` is its HTTP/1.1 head.
    pub fn new(
        head: Vec<u8>,
        framing: BodyFraming,
        body: RecvStream,
        respond: SendResponse<Bytes>,
        head_only: bool,
    ) -> H2Stream {
        let body_done = framing == BodyFraming::None || body.is_end_stream();
        H2Stream {
            inner: Mutex::new(Inner {
                head: Some(head),
                body,
                framing,
                body_done,
                head_only,
                respond: Some(respond),
                send: None,
                response: ResponseState::Head,
                rbuf: BytesMut::new(),
                held: BytesMut::new(),
                ended: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn h2_error(e: h2::Error) -> io::Error {
    io::Error::other(e)
}

impl Inner {
    /// The client reset the stream (Ready), or has not (Pending, registered).
    fn poll_reset(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let polled = match (&mut self.send, &mut self.respond) {
            (Some(send), _) => send.poll_reset(cx),
            (None, Some(respond)) => respond.poll_reset(cx),
            (None, None) => return Poll::Ready(()),
        };
        polled.map(|_| ())
    }

    fn response_complete(&self) -> bool {
        self.ended
    }

    /// Takes response bytes: the head (then HEADERS go), then the body into `held`.
    /// Returns how many were used (all, unless `held` is full).
    fn take(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.response {
            ResponseState::Head => {
                self.rbuf.extend_from_slice(data);
                // Interim heads, then the final one, then what follows it.
                while matches!(self.response, ResponseState::Head) {
                    let buf = std::mem::take(&mut self.rbuf);
                    let taken = self.head(&buf);
                    self.rbuf = buf;
                    match taken? {
                        Some(n) => {
                            let _ = self.rbuf.split_to(n);
                        }
                        None => return Ok(data.len()),
                    }
                }
                let rest = std::mem::take(&mut self.rbuf);
                self.take_body(&rest, usize::MAX)?;
                Ok(data.len())
            }
            ResponseState::Body(_) => {
                let room = MAX_HELD.saturating_sub(self.held.len());
                self.take_body(data, room)
            }
            // Bytes past the end of the response: the answer is out of step, and the
            // client has what it is owed.
            ResponseState::Done | ResponseState::Broken => Ok(data.len()),
        }
    }

    /// Up to `room` body bytes into `held`, as far as the framing says; how many of
    /// `data` were used.
    fn take_body(&mut self, data: &[u8], room: usize) -> io::Result<usize> {
        let data = &data[..data.len().min(room)];
        let ResponseState::Body(body) = &mut self.response else {
            return Ok(data.len());
        };
        let (used, done) = match body {
            Body::Length(left) => {
                let n = (*left).min(data.len() as u64) as usize;
                self.held.extend_from_slice(&data[..n]);
                *left -= n as u64;
                (n, *left == 0)
            }
            Body::Chunked(decoder) => {
                let held = &mut self.held;
                let n = decoder
                    .feed_with(data, |bytes| held.extend_from_slice(bytes))
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                (n, decoder.is_done())
            }
            Body::UntilClose => {
                self.held.extend_from_slice(data);
                (data.len(), false)
            }
        };
        if done {
            self.response = ResponseState::Done;
            // Anything after the end is not the client's.
            return Ok(data.len());
        }
        Ok(used)
    }

    /// One response head at the start of `buf`: Some(its length) once it is complete.
    /// Interim (1xx) heads go as informational responses.
    fn head(&mut self, buf: &[u8]) -> io::Result<Option<usize>> {
        let mut headers = [httparse::EMPTY_HEADER; http1::MAX_HEADERS];
        let head = match http1::parse_response(buf, &mut headers, self.head_only, MAX_RESPONSE_HEAD)
        {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(bad) => return Err(io::Error::new(io::ErrorKind::InvalidData, bad)),
        };
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::from_u16(head.status)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        for field in head.headers {
            let Ok(name) = HeaderName::from_bytes(field.name.as_bytes()) else {
                continue;
            };
            if is_connection_field(&name) {
                continue;
            }
            if let Ok(value) = HeaderValue::from_bytes(field.value) {
                response.headers_mut().append(name, value);
            }
        }
        let Some(respond) = self.respond.as_mut() else {
            return Err(io::ErrorKind::BrokenPipe.into());
        };
        if head.status < 200 {
            if head.status == 101 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "101 Switching Protocols on HTTP/2",
                ));
            }
            // 100 Continue, 103 Early Hints: passed on; the final head follows.
            let _ = respond.send_informational(response);
            return Ok(Some(head.head_len));
        }
        let body = match head.framing {
            Framing::None | Framing::Length(0) => None,
            Framing::Length(n) => Some(Body::Length(n)),
            Framing::Chunked => Some(Body::Chunked(ChunkedDecoder::new())),
            Framing::UntilClose => Some(Body::UntilClose),
        };
        let end = body.is_none();
        let send = respond.send_response(response, end).map_err(h2_error)?;
        self.respond = None;
        if end {
            self.ended = true;
            self.response = ResponseState::Done;
        } else {
            self.send = Some(send);
            self.response = ResponseState::Body(body.expect("a body"));
        }
        Ok(Some(head.head_len))
    }

    /// Sends what `held` has as the client's window allows, then END_STREAM once the
    /// response is complete. Ready(Ok) when nothing waits.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(send) = self.send.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let complete = matches!(self.response, ResponseState::Done);
        while !self.held.is_empty() {
            let room = send.capacity();
            if room == 0 {
                send.reserve_capacity(self.held.len());
                match send.poll_capacity(cx) {
                    Poll::Ready(Some(Ok(_))) => continue,
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(h2_error(e))),
                    Poll::Ready(None) => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                    Poll::Pending => return Poll::Pending,
                }
            }
            let chunk = self.held.split_to(room.min(self.held.len())).freeze();
            let last = complete && self.held.is_empty();
            send.send_data(chunk, last).map_err(h2_error)?;
            if last {
                self.ended = true;
            }
        }
        if complete && !self.ended {
            send.send_data(Bytes::new(), true).map_err(h2_error)?;
            self.ended = true;
        }
        Poll::Ready(Ok(()))
    }

    /// The response cannot be finished as HTTP/2: the stream is reset.
    fn reset(&mut self, reason: Reason) {
        self.response = ResponseState::Broken;
        self.held.clear();
        if !self.ended {
            match (&mut self.send, &mut self.respond) {
                (Some(send), _) => send.send_reset(reason),
                (None, Some(respond)) => respond.send_reset(reason),
                (None, None) => {}
            }
            self.ended = true;
        }
    }
}

fn is_connection_field(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade" | "te"
    )
}

impl ClientIo for H2Stream {
    fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
    ) -> Poll<io::Result<usize>> {
        let mut inner = self.lock();
        if let Some(head) = inner.head.take() {
            buf.extend_from_slice(&head);
            return Poll::Ready(Ok(head.len()));
        }
        while !inner.body_done {
            match inner.body.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    // Copied into the connection's buffer, which the data path bounds:
                    // the client may send the next window.
                    let _ = inner.body.flow_control().release_capacity(data.len());
                    if data.is_empty() {
                        continue;
                    }
                    if inner.framing == BodyFraming::Chunked {
                        let before = buf.len();
                        buf.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                        buf.extend_from_slice(&data);
                        buf.extend_from_slice(b"\r\n");
                        return Poll::Ready(Ok(buf.len() - before));
                    }
                    buf.extend_from_slice(&data);
                    return Poll::Ready(Ok(data.len()));
                }
                Poll::Ready(None) => {
                    inner.body_done = true;
                    if inner.framing == BodyFraming::Chunked {
                        buf.extend_from_slice(b"0\r\n\r\n");
                        return Poll::Ready(Ok(5));
                    }
                }
                // The client reset the stream: it left.
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(h2_error(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        // The request is all in. One request per stream: once the answer is complete the
        // stream's "connection" ends; before that, only a reset from the client ends it
        // (as a client that leaves an HTTP/1.1 connection does).
        if inner.response_complete() {
            return Poll::Ready(Ok(0));
        }
        match inner.poll_reset(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(0)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn try_write(&self, _: &[u8]) -> io::Result<usize> {
        // Only the stream's task writes (see the module docs).
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut inner = self.lock();
        if let ResponseState::Broken = inner.response {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        // What waits for the window goes first: that bounds what a slow client holds.
        if inner.held.len() >= MAX_HELD {
            if let Err(e) = std::task::ready!(inner.poll_send(cx)) {
                return Poll::Ready(Err(e));
            }
        }
        let used = match inner.take(buf) {
            Ok(used) => used,
            Err(e) => {
                tracing::debug!(error = %e, "an answer that HTTP/2 cannot carry");
                inner.reset(Reason::INTERNAL_ERROR);
                return Poll::Ready(Err(e));
            }
        };
        if let Poll::Ready(Err(e)) = inner.poll_send(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(used))
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.lock().poll_send(cx)
    }

    fn shutdown(&self) {
        let mut inner = self.lock();
        match inner.response {
            // A body that runs until the close ends here, whole.
            ResponseState::Body(Body::UntilClose) => {
                inner.response = ResponseState::Done;
                let _ = inner.poll_send(&mut Context::from_waker(std::task::Waker::noop()));
                if !inner.ended {
                    // Its last bytes wait for a window that will not be waited for.
                    inner.reset(Reason::CANCEL);
                }
            }
            // No answer, or one cut short: the client must not take it for whole.
            ResponseState::Head | ResponseState::Body(_) => inner.reset(Reason::INTERNAL_ERROR),
            ResponseState::Done if !inner.ended => inner.reset(Reason::CANCEL),
            ResponseState::Done | ResponseState::Broken => {}
        }
    }
}
