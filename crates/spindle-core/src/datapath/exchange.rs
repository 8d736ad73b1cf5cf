//! One request's trip: claim a Ready worker (waiting in the app's queue if all are busy),
//! send the head and stream the body to it through a virtual connection, pass its answer
//! to the client as it comes, and retry once on another worker when the first failed
//! before answering a request that is safe to repeat.
//!
//! Both directions move in one task, polled together: a worker may answer before it has
//! read the whole body (a 413), a client may upload and download at once, and a client
//! that leaves must cancel the app's request. Bytes pass through unchanged but for the
//! response head's few rewrites; their framing is followed only to know where they end.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, Sleep};

use super::app::App;
use super::endpoint::InFlight;
use super::http1::{self, ChunkedDecoder, Framing};
use super::reply::{self, Reply};
use super::vconn::{Read, VConn};
use crate::WorkerId;

/// Pipelined bytes read ahead of the current exchange; past this the client is not read
/// until the exchange ends.
const READ_AHEAD: usize = 64 * 1024;
/// Bytes waiting for a slow client before the worker's are no longer taken.
const OUT_HIGH: usize = 256 * 1024;
/// Largest response head a worker may send.
const MAX_RESPONSE_HEAD: usize = 256 * 1024;
/// Tries to find a worker whose thread is still there, for one request.
const MAX_GONE: usize = 3;

/// A client connection as an exchange uses it.
pub struct Client<S> {
    pub io: S,
    /// Bytes read from the client and not yet used: the rest of this request's body, or
    /// the next request.
    pub inbuf: BytesMut,
    pub peer: std::net::SocketAddr,
}

/// A request head, parsed and already rewritten for the worker: what the exchange needs
/// once the client's buffer has moved on. Reused from one request to the next.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// Without the query; orders the queue by what requests to it cost.
    pub path: String,
    pub framing: Framing,
    /// The client may send another request after this one.
    pub keep_alive: bool,
    pub upgrade: bool,
    pub idempotent: bool,
    pub head_only: bool,
    /// The head as the worker receives it.
    pub head: Vec<u8>,
    pub arrived: Instant,
}

impl Default for Request {
    fn default() -> Request {
        Request {
            method: String::new(),
            path: String::new(),
            framing: Framing::None,
            keep_alive: false,
            upgrade: false,
            idempotent: false,
            head_only: false,
            head: Vec::with_capacity(1024),
            arrived: Instant::now(),
        }
    }
}

impl Request {
    /// Records what the exchange needs of `head`; the forwarded head is written apart.
    pub fn fill(&mut self, head: &http1::RequestHead<'_, '_>) {
        self.method.clear();
        self.method.push_str(head.method);
        self.path.clear();
        self.path.push_str(head.path());
        self.framing = head.framing;
        self.keep_alive = head.keep_alive;
        self.upgrade = head.upgrade;
        self.idempotent = head.is_idempotent();
        self.head_only = head.is_head();
        self.arrived = Instant::now();
    }
}

/// What the connection does after an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    KeepAlive,
    Close,
}

/// Runs the request in `req` (its head already parsed off `client.inbuf`) against `app`.
/// `answer_within` bounds the wait for the response head (the mesh's
/// `applicationTimeout`); `closing` makes this the connection's last exchange.
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut Client<S>,
    req: &Request,
    app: &App,
    answer_within: Option<Duration>,
    closing: bool,
) -> Next {
    let mut deadline = req.arrived + app.queue_timeout;
    let mut exclude: Option<WorkerId> = None;
    let mut retried = false;
    let mut gone = 0;
    loop {
        let claim = match app
            .claim(exclude.as_ref(), req.arrived, &req.path, deadline)
            .await
        {
            Ok(claim) => claim,
            Err(reply) => return answer(client, req, &reply, closing).await,
        };
        let worker = claim.endpoint().id.clone();
        let Ok(vconn) = claim.endpoint().pipe.checkout() else {
            // The worker's thread ended after it was picked: nothing was sent, so any
            // request may go to another.
            gone += 1;
            if gone > MAX_GONE {
                let failed =
                    reply::worker_failed(&app.id, &worker.to_string(), "the worker exited");
                return answer(client, req, &failed, closing).await;
            }
            exclude = Some(worker);
            continue;
        };
        let mut trip = match Trip::start(client, req, app, claim, vconn, answer_within, closing) {
            Ok(trip) => trip,
            Err(reply) => return answer(client, req, &reply, true).await,
        };
        let outcome = poll_fn(|cx| trip.poll(cx, client)).await;
        match outcome {
            Outcome::Done(next) => return next,
            Outcome::Unanswered(cause)
                if !retried && req.idempotent && req.framing == Framing::None && !req.upgrade =>
            {
                // Debug only: a crash under load fails dozens of requests at once, and the
                // supervisor already logs the crash itself.
                tracing::debug!(%worker, error = cause, "worker failed before answering; retrying on another worker");
                app.metrics.retried();
                retried = true;
                exclude = Some(worker);
                deadline = Instant::now() + app.queue_timeout;
            }
            Outcome::Unanswered(cause) => {
                tracing::debug!(%worker, error = cause, "request failed on worker");
                let failed = reply::worker_failed(&app.id, &worker.to_string(), cause);
                app.metrics
                    .record(&req.method, failed.status, req.arrived.elapsed());
                return answer(client, req, &failed, closing || trip.body_left()).await;
            }
            Outcome::Bad(cause) => {
                tracing::warn!(%worker, app = &*app.id, error = %cause, "worker sent an invalid response");
                let bad = reply::bad_response(&app.id, &worker.to_string(), &cause);
                app.metrics
                    .record(&req.method, bad.status, req.arrived.elapsed());
                return answer(client, req, &bad, true).await;
            }
            Outcome::BadBody(why) => {
                return answer(client, req, &reply::rejected(400, why), true).await;
            }
            Outcome::TimedOut(after) => {
                let late = reply::timeout(&app.id, &worker.to_string(), after.as_millis());
                app.metrics
                    .record(&req.method, late.status, req.arrived.elapsed());
                return answer(client, req, &late, closing || trip.body_left()).await;
            }
        }
    }
}

/// Writes a reply of our own; the connection closes after it when asked, or when the
/// request's body was not read (it would be taken for the next request).
pub async fn answer<S: AsyncWrite + Unpin>(
    client: &mut Client<S>,
    req: &Request,
    reply: &Reply,
    close: bool,
) -> Next {
    let close = close || !req.keep_alive || req.framing != Framing::None;
    let mut out = Vec::with_capacity(256 + reply.body.len());
    reply.write(close, req.head_only, &mut out);
    if client.io.write_all(&out).await.is_err() || close {
        return Next::Close;
    }
    Next::KeepAlive
}

enum Outcome {
    Done(Next),
    /// The worker failed before a byte of its answer came: the request may be retried.
    Unanswered(&'static str),
    /// The worker's answer is not HTTP we can pass on; nothing was sent to the client.
    Bad(String),
    /// No response head within `answer_within`.
    TimedOut(Duration),
    /// The client's body broke its framing before any answer.
    BadBody(&'static str),
}

/// What is left of a body.
enum Left {
    Done,
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

impl Left {
    fn of(framing: Framing) -> Left {
        match framing {
            Framing::None | Framing::Length(0) => Left::Done,
            Framing::Length(n) => Left::Length(n),
            Framing::Chunked => Left::Chunked(ChunkedDecoder::new()),
            Framing::UntilClose => Left::UntilClose,
        }
    }

    /// How many bytes at the start of `data` belong to the body, consuming them.
    fn take(&mut self, data: &[u8]) -> Result<usize, &'static str> {
        let n = match self {
            Left::Done => 0,
            Left::Length(left) => {
                let n = (*left).min(data.len() as u64);
                *left -= n;
                if *left == 0 {
                    *self = Left::Done;
                }
                n as usize
            }
            Left::Chunked(decoder) => {
                let n = decoder.feed(data).map_err(|e| e.0)?;
                if decoder.is_done() {
                    *self = Left::Done;
                }
                n
            }
            Left::UntilClose => data.len(),
        };
        Ok(n)
    }

    fn is_done(&self) -> bool {
        matches!(self, Left::Done)
    }
}

enum Response {
    /// Waiting for the (next) head; true once an interim (1xx) head was passed on.
    Head {
        interim: bool,
    },
    Body(Left),
    /// After a 101: bytes both ways until either side ends.
    Tunnel,
    Done,
}

struct Trip<'a> {
    req: &'a Request,
    app: &'a App,
    /// Held until the worker's whole answer came: it counts against the worker's load.
    claim: Option<InFlight>,
    vconn: Arc<VConn>,
    body: Left,
    response: Response,
    /// From the worker, not yet looked at.
    rbuf: BytesMut,
    /// To the client.
    out: BytesMut,
    /// After this exchange the client connection closes.
    close: bool,
    /// The virtual connection can carry another request once this one is done.
    reusable: bool,
    timer: Option<(Pin<Box<Sleep>>, Duration)>,
    /// Tunnel: the client / the worker sent its last byte.
    client_ended: bool,
    worker_ended: bool,
}

impl<'a> Trip<'a> {
    /// Sends the head and whatever of the body has arrived with it.
    fn start<S>(
        client: &mut Client<S>,
        req: &'a Request,
        app: &'a App,
        claim: InFlight,
        vconn: Arc<VConn>,
        answer_within: Option<Duration>,
        closing: bool,
    ) -> Result<Trip<'a>, Reply> {
        let mut body = Left::of(req.framing);
        let n = body
            .take(&client.inbuf)
            .map_err(|e| reply::rejected(400, e))?;
        // A worker gone since the checkout fails the first read, as one that dies a
        // moment later would: both are handled there.
        let _ = vconn.send_request(client.peer, |out| {
            out.extend_from_slice(&req.head);
            out.extend_from_slice(&client.inbuf[..n]);
        });
        client.inbuf.advance(n);
        Ok(Trip {
            req,
            app,
            claim: Some(claim),
            vconn,
            body,
            response: Response::Head { interim: false },
            rbuf: BytesMut::new(),
            out: BytesMut::new(),
            close: closing || !req.keep_alive,
            reusable: false,
            timer: answer_within.map(|d| (Box::pin(tokio::time::sleep(d)), d)),
            client_ended: false,
            worker_ended: false,
        })
    }

    /// The request's body was not all passed on.
    fn body_left(&self) -> bool {
        !self.body.is_done()
    }

    fn poll<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        client: &mut Client<S>,
    ) -> Poll<Outcome> {
        loop {
            let mut progress = false;

            while !self.out.is_empty() {
                match Pin::new(&mut client.io).poll_write(cx, &self.out) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        self.out.advance(n);
                        progress = true;
                    }
                    Poll::Ready(_) => return Poll::Ready(self.client_gone()),
                    Poll::Pending => break,
                }
            }
            if matches!(self.response, Response::Done) && self.out.is_empty() {
                return Poll::Ready(Outcome::Done(self.next()));
            }

            match self.poll_client(cx, client) {
                Poll::Ready(Some(outcome)) => return Poll::Ready(outcome),
                Poll::Ready(None) => progress = true,
                Poll::Pending => {}
            }

            if !matches!(self.response, Response::Done) && self.out.len() < OUT_HIGH {
                match self.vconn.poll_read(cx, &mut self.rbuf) {
                    Poll::Ready(read) => {
                        progress = true;
                        if let Some(outcome) = self.on_worker(read) {
                            return Poll::Ready(outcome);
                        }
                    }
                    Poll::Pending => {}
                }
            }

            if let (Response::Head { interim: false }, Some((timer, after))) =
                (&self.response, &mut self.timer)
            {
                if timer.as_mut().poll(cx).is_ready() {
                    let after = *after;
                    self.vconn.close();
                    return Poll::Ready(Outcome::TimedOut(after));
                }
            }

            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Moves the request's body (or a tunnel's bytes) on, and watches the client: Ready
    /// with an outcome when the client left, Ready(None) after progress.
    fn poll_client<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        client: &mut Client<S>,
    ) -> Poll<Option<Outcome>> {
        let tunnel = matches!(self.response, Response::Tunnel);
        let sending = tunnel || !self.body.is_done();
        let mut progress = false;
        if sending && !client.inbuf.is_empty() {
            // Err: the worker's side is gone, and its read says why.
            if let Poll::Ready(Ok(())) = self.vconn.poll_send_ready(cx) {
                let n = if tunnel {
                    client.inbuf.len()
                } else {
                    match self.body.take(&client.inbuf) {
                        Ok(n) => n,
                        Err(why) => return Poll::Ready(Some(self.bad_request(why))),
                    }
                };
                let _ = self.vconn.send(&client.inbuf[..n]);
                client.inbuf.advance(n);
                progress = true;
            }
        }
        // Reading on while the worker cannot take more (bounded) still notices a client
        // that leaves.
        if self.client_ended || client.inbuf.len() >= READ_AHEAD {
            return if progress {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        }
        if client.inbuf.capacity() - client.inbuf.len() < 1024 {
            client.inbuf.reserve(8 * 1024);
        }
        match tokio_util::io::poll_read_buf(Pin::new(&mut client.io), cx, &mut client.inbuf) {
            Poll::Ready(Ok(0)) if tunnel => {
                self.client_ended = true;
                self.vconn.end();
                if self.worker_ended {
                    self.response = Response::Done;
                }
                Poll::Ready(None)
            }
            // Like Node's own server, a client that stops sending is taken to have left:
            // the app's request is aborted.
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Poll::Ready(Some(self.client_gone())),
            Poll::Ready(Ok(_)) => Poll::Ready(None),
            Poll::Pending if progress => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Takes in what the worker wrote (or that it ended).
    fn on_worker(&mut self, read: Read) -> Option<Outcome> {
        match read {
            Read::Data => self.on_bytes(),
            Read::Eof | Read::Closed(_) => {
                let why = match read {
                    Read::Closed(why) => why.describe(),
                    _ => "the app ended the connection",
                };
                self.worker_ended = true;
                match &self.response {
                    Response::Head { interim: false } if self.rbuf.is_empty() => {
                        self.vconn.close();
                        return Some(Outcome::Unanswered(why));
                    }
                    Response::Head { interim: false } => {
                        self.vconn.close();
                        return Some(Outcome::Bad(format!(
                            "{why} in the middle of a response head"
                        )));
                    }
                    Response::Head { .. } => {
                        // An interim answer already reached the client: it cannot be
                        // told anything else now.
                        self.vconn.close();
                        self.close = true;
                        self.finish();
                    }
                    Response::Body(Left::UntilClose) => {
                        self.close = true;
                        self.finish();
                    }
                    Response::Body(_) => {
                        tracing::debug!(worker = %self.vconn.worker(), error = why, "response cut short");
                        self.close = true;
                        self.finish();
                    }
                    Response::Tunnel => {
                        // What is queued for the client is written, then it is closed.
                        self.vconn.close();
                        self.response = Response::Done;
                        self.close = true;
                    }
                    Response::Done => {}
                }
                None
            }
        }
    }

    fn on_bytes(&mut self) -> Option<Outcome> {
        loop {
            match &mut self.response {
                Response::Head { interim } => {
                    let interim = *interim;
                    match self.on_head() {
                        Ok(true) => continue,
                        Ok(false) => return None,
                        Err(bad) if interim => {
                            tracing::warn!(worker = %self.vconn.worker(), error = %bad, "worker sent an invalid response");
                            self.vconn.close();
                            self.close = true;
                            self.finish();
                            return None;
                        }
                        Err(bad) => {
                            self.vconn.close();
                            return Some(Outcome::Bad(bad));
                        }
                    }
                }
                Response::Body(left) => {
                    let n = match left.take(&self.rbuf) {
                        Ok(n) => n,
                        Err(why) => {
                            tracing::warn!(worker = %self.vconn.worker(), error = why, "worker sent an invalid chunked body");
                            self.vconn.close();
                            self.close = true;
                            self.finish();
                            return None;
                        }
                    };
                    self.out.extend_from_slice(&self.rbuf[..n]);
                    self.rbuf.advance(n);
                    if left.is_done() {
                        if !self.rbuf.is_empty() {
                            // More than the response: the connection is out of step.
                            self.reusable = false;
                        }
                        self.finish();
                    }
                    return None;
                }
                Response::Tunnel => {
                    self.out.extend_from_slice(&self.rbuf);
                    self.rbuf.clear();
                    return None;
                }
                Response::Done => {
                    self.reusable = false;
                    self.rbuf.clear();
                    return None;
                }
            }
        }
    }

    /// Parses a response head at the start of `rbuf`: Ok(true) when one was taken and
    /// more may follow (body or a final head after an interim one), Ok(false) when more
    /// bytes are needed.
    fn on_head(&mut self) -> Result<bool, String> {
        let mut headers = [httparse::EMPTY_HEADER; http1::MAX_HEADERS];
        let head = match http1::parse_response(
            &self.rbuf,
            &mut headers,
            self.req.head_only,
            MAX_RESPONSE_HEAD,
        ) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(false),
            Err(bad) => return Err(bad.0),
        };
        let len = head.head_len;
        if head.status < 200 && head.status != 101 {
            // 100 Continue, 103 Early Hints: passed on, the final head follows.
            self.out.extend_from_slice(&self.rbuf[..len]);
            self.rbuf.advance(len);
            self.response = Response::Head { interim: true };
            return Ok(true);
        }
        if let Some(claim) = &mut self.claim {
            claim.answered();
        }
        let app = self.app;
        app.metrics
            .record(&self.req.method, head.status, self.req.arrived.elapsed());
        // Costs only order the queue, so they are learnt only while it holds someone: an
        // app that never queues takes no lock per request for them.
        if app.queue.waiting() > 0 {
            app.queue
                .observe_cost(&self.req.path, self.req.arrived.elapsed());
        }
        if head.status == 101 {
            if !self.req.upgrade {
                return Err(
                    "101 Switching Protocols to a request that asked for no upgrade".into(),
                );
            }
            self.out.extend_from_slice(&self.rbuf[..len]);
            self.rbuf.advance(len);
            // A long-lived tunnel is not a request in flight: it must not make the worker
            // look busy.
            self.claim = None;
            self.response = Response::Tunnel;
            self.close = true;
            if !self.rbuf.is_empty() {
                self.out.extend_from_slice(&self.rbuf);
                self.rbuf.clear();
            }
            return Ok(false);
        }
        if head.framing == Framing::UntilClose {
            self.close = true;
        }
        self.reusable = head.keep_alive;
        let mut out = std::mem::take(&mut self.out);
        if http1::response::needs_rewrite(&head, self.close) {
            let mut rewritten = Vec::with_capacity(len + 32);
            http1::write_for_client(&head, self.close, &mut rewritten);
            out.extend_from_slice(&rewritten);
        } else {
            out.extend_from_slice(&self.rbuf[..len]);
        }
        self.out = out;
        let framing = head.framing;
        self.rbuf.advance(len);
        self.response = Response::Body(Left::of(framing));
        if matches!(self.response, Response::Body(Left::Done)) {
            self.finish();
            if !self.rbuf.is_empty() {
                self.reusable = false;
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// The worker's whole answer came: its slot and (if clean) its connection are free.
    fn finish(&mut self) {
        self.response = Response::Done;
        if self.reusable && self.body.is_done() && self.rbuf.is_empty() && !self.worker_ended {
            // Back in the pool before the slot is released, so a request waiting for that
            // slot finds the connection idle.
            if let Some(claim) = &self.claim {
                claim.endpoint().pipe.checkin(self.vconn.clone());
            }
        } else {
            self.vconn.close();
        }
        self.claim = None;
    }

    /// The response is complete: keep the client, or not.
    fn next(&self) -> Next {
        if self.close || !self.body.is_done() {
            Next::Close
        } else {
            Next::KeepAlive
        }
    }

    /// The client left (or its socket failed): the app's request is cancelled.
    fn client_gone(&mut self) -> Outcome {
        self.vconn.close();
        self.claim = None;
        self.response = Response::Done;
        Outcome::Done(Next::Close)
    }

    /// The client's chunked body broke its framing: a 400 if the client has heard
    /// nothing yet, else the connection just closes.
    fn bad_request(&mut self, why: &'static str) -> Outcome {
        self.vconn.close();
        self.claim = None;
        tracing::debug!(error = why, "invalid request body");
        if matches!(self.response, Response::Head { interim: false }) {
            self.response = Response::Done;
            return Outcome::BadBody(why);
        }
        self.response = Response::Done;
        Outcome::Done(Next::Close)
    }
}
