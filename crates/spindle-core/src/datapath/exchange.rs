//! One request's trip, as the client connection's task runs it: claim a Ready worker
//! (waiting in the app's queue if all are busy), send the head and stream the body to it
//! through a virtual connection, and retry once on another worker when the first failed
//! before answering a request that is safe to repeat. The answer itself goes to the
//! client from the worker's thread ([`super::answer`]); the task waits for it while it
//! keeps the request's body moving and watches for the client leaving, which cancels the
//! app's request.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::time::Instant;

use super::answer::{self, Effects, Left, Phase, Shared};
use super::app::App;
use super::client::{self, Client};
use super::http1::{self, Framing, Rejection};
use super::reply::{self, Reply};
use super::vconn::Closed;
use super::vconn::VConn;
use super::watchdog::{Timeouts, Watchdog};
use crate::WorkerId;

/// Pipelined bytes read ahead of the current exchange; past this the client is not read
/// until the exchange ends.
const READ_AHEAD: usize = 64 * 1024;
/// Tries to find a worker whose thread is still there, for one request.
const MAX_GONE: usize = 3;
/// Times a request that is safe to repeat is sent again after its worker failed before
/// answering, each time to a worker that has not failed it. More than one: under a crash
/// and a stall at once, the first retry can land on the next worker to go.
const MAX_RETRIES: usize = 3;

/// A client connection as an exchange uses it.
pub struct ClientConn {
    pub io: Client,
    /// Bytes read from the client and not yet used: the rest of this request's body, or
    /// the next request.
    pub inbuf: BytesMut,
    pub peer: std::net::SocketAddr,
    /// Where workers' answers to this client are followed; one for the connection's life.
    pub answer: Shared,
    pub timeouts: Timeouts,
    /// Every deadline of the connection, on one timer.
    pub watchdog: Watchdog,
    pub max_body: Option<u64>,
    /// The current request's spans, when it is traced.
    pub trace: Option<crate::telemetry::RequestSpans>,
    /// The trace header lines the current request's worker gets; kept for its capacity.
    pub trace_lines: Vec<u8>,
}

impl ClientConn {
    pub fn new(
        io: Client,
        peer: std::net::SocketAddr,
        timeouts: Timeouts,
        max_body: Option<u64>,
    ) -> ClientConn {
        ClientConn {
            answer: answer::shared(io.clone()),
            io,
            inbuf: BytesMut::with_capacity(8 * 1024),
            peer,
            timeouts,
            watchdog: Watchdog::new(Instant::now() + timeouts.head),
            max_body,
            trace: None,
            trace_lines: Vec::new(),
        }
    }
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
    /// An HTTP/1.0 client, which must not get interim (1xx) answers.
    pub http10: bool,
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
            http10: false,
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
        self.http10 = head.version == http1::Version::Http10;
        self.arrived = Instant::now();
    }

    /// The head is the whole request (no body, or an empty one, and no upgrade): it can be
    /// sent to another worker again as it is.
    pub fn resendable(&self) -> bool {
        matches!(self.framing, Framing::None | Framing::Length(0)) && !self.upgrade
    }
}

/// What the connection does after an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    KeepAlive,
    Close,
}

/// Runs the request in `req` (its head already parsed off `conn.inbuf`) against `app`.
/// `answer_within` bounds the wait for the response head (the mesh's
/// `applicationTimeout`); `closing` makes this the connection's last exchange.
pub async fn run(
    conn: &mut ClientConn,
    req: &Request,
    app: &Arc<App>,
    answer_within: Option<super::connection::AnswerWithin>,
    closing: bool,
) -> Next {
    // One deadline for the whole request: a retry does not get a second queueTimeout.
    let deadline = req.arrived + app.queue_timeout;
    // Workers that failed this request, tried no more.
    let mut exclude: Vec<WorkerId> = Vec::new();
    let mut retries = 0;
    let mut gone = 0;
    let traced = conn.trace.is_some();
    loop {
        let claim = match app.claim(&exclude, req.arrived, &req.path, deadline).await {
            Ok(claim) => claim,
            Err(reply) => return answer(conn, req, &reply, closing).await,
        };
        let worker = claim.endpoint().id.clone();
        if let Some(trace) = &mut conn.trace {
            if retries == 0 && gone == 0 {
                trace.queued(req.arrived.elapsed());
            }
            trace.worker(&worker.to_string());
        }
        let Ok(vconn) = claim.endpoint().pipe.checkout() else {
            // The worker's thread ended after it was picked: nothing was sent, so any
            // request may go to another.
            gone += 1;
            if gone > MAX_GONE {
                let failed =
                    reply::worker_failed(&app.id, &worker.to_string(), "the worker exited");
                return answer(conn, req, &failed, closing).await;
            }
            exclude.push(worker);
            continue;
        };
        let mut body = Left::of(req.framing);
        let n = match body.take(&conn.inbuf) {
            Ok(n) => n,
            Err(why) => {
                vconn.close();
                return answer(conn, req, &reply::rejected(400, why), true).await;
            }
        };
        if conn.max_body.is_some_and(|max| n as u64 > max) {
            // A chunked body already past the limit with its head: the app never hears of it.
            vconn.close();
            let too_large = Rejection::TOO_LARGE;
            return answer(
                conn,
                req,
                &reply::rejected(too_large.status, too_large.reason),
                true,
            )
            .await;
        }
        {
            // Ready before the request goes: the worker may answer at once.
            let mut answer = answer::lock(&conn.answer);
            answer.begin(req, app, claim, closing);
            answer.body_sent = body.is_done();
            answer.trace = conn.trace.take();
        }
        let sent = vconn.send_request(conn.peer, &conn.answer, req.resendable(), |out| {
            out.extend_from_slice(&req.head);
            out.extend_from_slice(&conn.inbuf[..n]);
        });
        conn.inbuf.advance(n);
        if sent.is_err() {
            // Gone since the checkout: as if it had died a moment later.
            let mut fx = Effects::default();
            answer::lock(&conn.answer).on_end(Closed::WorkerGone.describe(), &mut fx);
            vconn.apply(fx);
        }
        let now = Instant::now();
        let mut trip = Trip {
            conn: &mut *conn,
            vconn,
            body,
            body_bytes: n as u64,
            tunnel: false,
            client_ended: false,
            answer_by: answer_within.map(|w| (now + w.after, w.after)),
            moved: 0,
            still_since: now,
            was_waiting: false,
        };
        let outcome = poll_fn(|cx| trip.poll(cx)).await;
        let body_left = !trip.body.is_done();
        if traced {
            // Still open unless the answer completed: the task ends it, or a retry goes on.
            conn.trace = answer::lock(&conn.answer).trace.take();
        }
        match outcome {
            Outcome::Done(next) => return next,
            // A withdrawn request never reached the app: safe to send again, whatever its
            // method.
            Outcome::Unanswered(cause)
                if retries < MAX_RETRIES
                    && (req.idempotent || cause == Closed::Withdrawn.describe())
                    && req.resendable() =>
            {
                // Debug only: a crash under load fails dozens of requests at once, and the
                // supervisor already logs the crash itself.
                tracing::debug!(%worker, error = cause, "worker failed before answering; retrying on another worker");
                app.metrics.retried();
                if let Some(trace) = &mut conn.trace {
                    trace.retry(&worker.to_string(), cause);
                }
                retries += 1;
                exclude.push(worker);
            }
            Outcome::Unanswered(cause) => {
                tracing::debug!(%worker, error = cause, "request failed on worker");
                let failed = reply::worker_failed(&app.id, &worker.to_string(), cause);
                app.metrics
                    .record(&req.method, failed.status, req.arrived.elapsed());
                return answer(conn, req, &failed, closing || body_left).await;
            }
            Outcome::Bad(cause) => {
                tracing::warn!(%worker, app = &*app.id, error = %cause, "worker sent an invalid response");
                let bad = reply::bad_response(&app.id, &worker.to_string(), &cause);
                app.metrics
                    .record(&req.method, bad.status, req.arrived.elapsed());
                return answer(conn, req, &bad, true).await;
            }
            Outcome::TimedOut(after) => {
                let key = answer_within.map_or("responseTimeout", |w| w.key);
                let late = reply::timeout(&app.id, &worker.to_string(), after.as_millis(), key);
                app.metrics
                    .record(&req.method, late.status, req.arrived.elapsed());
                return answer(conn, req, &late, closing || body_left).await;
            }
            Outcome::BadBody(rejection) => {
                let reply = reply::rejected(rejection.status, rejection.reason);
                return answer(conn, req, &reply, true).await;
            }
        }
    }
}

/// Writes a reply of our own; the connection closes after it when asked, or when the
/// request's body was not read (it would be taken for the next request).
pub async fn answer(conn: &mut ClientConn, req: &Request, reply: &Reply, close: bool) -> Next {
    let close = close || !req.keep_alive || req.framing != Framing::None;
    if conn.trace.is_some() {
        answer::lock(&conn.answer).status = reply.status;
    }
    let mut out = Vec::with_capacity(256 + reply.body.len());
    reply.write(close, req.head_only, &mut out);
    if client::write_all(&*conn.io, &out).await.is_err() || close {
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
    /// The client's body broke its framing, grew past `maxBodySize` or stalled, before
    /// any answer.
    BadBody(Rejection),
}

struct Trip<'a> {
    conn: &'a mut ClientConn,
    vconn: Arc<VConn>,
    /// What of the request's body is still to be passed on.
    body: Left,
    /// A protocol switch happened: the client's bytes go to the worker as they come.
    tunnel: bool,
    /// Tunnel: the client sent its last byte.
    client_ended: bool,
    /// Request body bytes passed on so far, against `maxBodySize`.
    body_bytes: u64,
    /// When the response head must have begun (the mesh's `applicationTimeout`, an
    /// app's `responseTimeout`), and that timeout.
    answer_by: Option<(Instant, Duration)>,
    /// Progress (client bytes read plus the answer's) when last looked at, and since when
    /// it has not changed: a body that does not move for the body timeout ends the trip.
    moved: u64,
    still_since: Instant,
    was_waiting: bool,
}

impl Trip<'_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Outcome> {
        loop {
            let mut progress = false;
            match self.poll_client(cx) {
                Poll::Ready(Some(outcome)) => return Poll::Ready(outcome),
                Poll::Ready(None) => progress = true,
                Poll::Pending => {}
            }

            let eager = !self.conn.inbuf.is_empty() || !self.body.is_done();
            let mut fx = Effects::default();
            let moved;
            let done = {
                let mut answer = answer::lock(&self.conn.answer);
                let polled = answer.poll(cx, eager, &mut fx);
                moved = (answer.moved(), answer.started());
                if !self.tunnel && answer.is_tunnel() {
                    // What the client sent behind its head now goes through.
                    self.tunnel = true;
                    progress = true;
                }
                match polled {
                    Poll::Ready(()) => Some(match &answer.phase {
                        Phase::Unanswered(why) => Outcome::Unanswered(why),
                        Phase::Bad(why) => Outcome::Bad(why.clone()),
                        Phase::TimedOut => Outcome::TimedOut(Duration::ZERO),
                        _ if answer.close || !self.body.is_done() => Outcome::Done(Next::Close),
                        _ => Outcome::Done(Next::KeepAlive),
                    }),
                    Poll::Pending => None,
                }
            };
            self.vconn.apply(fx);
            if let Some(outcome) = done {
                return Poll::Ready(outcome);
            }

            if let Some(outcome) = self.poll_deadlines(cx, moved) {
                return Poll::Ready(outcome);
            }

            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// The response-head and body timeouts. `answer`: the answer's progress count and
    /// whether it has begun, as just polled.
    fn poll_deadlines(&mut self, cx: &mut Context<'_>, answer: (u64, bool)) -> Option<Outcome> {
        let (answer_moved, started) = answer;
        let head_by = self.answer_by.filter(|_| !started);
        // A body is idle only while someone owes bytes: the client its request body
        // (nothing of it waits here for the worker), or either side the answer's body.
        // A tunnel (WebSocket) may be quiet for as long as its ends like.
        let waiting_on_body =
            !self.tunnel && (started || (!self.body.is_done() && self.conn.inbuf.is_empty()));
        let moved = answer_moved + self.body_bytes;
        if moved != self.moved || (waiting_on_body && !self.was_waiting) {
            // A clock read only on progress (streaming bodies), none per plain request.
            self.moved = moved;
            self.still_since = Instant::now();
        }
        self.was_waiting = waiting_on_body;
        loop {
            let idle_by = waiting_on_body.then(|| self.still_since + self.conn.timeouts.body);
            let deadline = match (head_by, idle_by) {
                (Some((h, _)), Some(i)) => h.min(i),
                (Some((h, _)), None) => h,
                (None, Some(i)) => i,
                (None, None) => return None,
            };
            if self.conn.watchdog.poll_until(cx, deadline).is_pending() {
                return None;
            }
            let now = Instant::now();
            if let Some((h, after)) = head_by {
                if now >= h {
                    self.answer_by = None;
                    let mut fx = Effects::default();
                    let timed_out = {
                        let mut answer = answer::lock(&self.conn.answer);
                        // The head may have begun since it was polled: then it is in time.
                        let unheard = !answer.started();
                        if unheard {
                            answer.give_up(true, &mut fx);
                        }
                        unheard
                    };
                    self.vconn.apply(fx);
                    if timed_out {
                        return Some(Outcome::TimedOut(after));
                    }
                    cx.waker().wake_by_ref();
                    return None;
                }
            }
            let progress = answer::lock(&self.conn.answer).moved() + self.body_bytes;
            if progress != self.moved {
                self.moved = progress;
                self.still_since = now;
                continue;
            }
            tracing::debug!(peer = %self.conn.peer, "a body made no progress within the body timeout");
            return Some(if self.give_up() {
                Outcome::BadBody(Rejection::BODY_TIMEOUT)
            } else {
                Outcome::Done(Next::Close)
            });
        }
    }

    /// Gives the exchange up; true when the client has heard nothing of the answer (so
    /// it may still get one of ours).
    fn give_up(&mut self) -> bool {
        let mut fx = Effects::default();
        let unheard = {
            let mut answer = answer::lock(&self.conn.answer);
            answer.give_up(false, &mut fx);
            !answer.started()
        };
        self.vconn.apply(fx);
        unheard
    }

    /// Moves the request's body (or a tunnel's bytes) on, and watches the client: Ready
    /// with an outcome when the client left, Ready(None) after progress.
    fn poll_client(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outcome>> {
        let sending = self.tunnel || !self.body.is_done();
        let mut progress = false;
        if sending && !self.conn.inbuf.is_empty() {
            // Err: the worker's side is gone, and the answer says why.
            if let Poll::Ready(Ok(())) = self.vconn.poll_send_ready(cx) {
                let n = if self.tunnel {
                    self.conn.inbuf.len()
                } else {
                    match self.body.take(&self.conn.inbuf) {
                        Ok(n) => n,
                        Err(why) => {
                            return Poll::Ready(Some(self.bad_body(Rejection::bad_body(why))))
                        }
                    }
                };
                self.body_bytes += n as u64;
                if !self.tunnel && self.conn.max_body.is_some_and(|max| self.body_bytes > max) {
                    return Poll::Ready(Some(self.bad_body(Rejection::TOO_LARGE)));
                }
                let _ = self.vconn.send(&self.conn.inbuf[..n]);
                self.conn.inbuf.advance(n);
                if !self.tunnel && self.body.is_done() {
                    // From now on the connection may be reused once the answer is done.
                    answer::lock(&self.conn.answer).body_sent = true;
                }
                progress = true;
            }
        }
        // Reading on while the worker cannot take more (bounded) still notices a client
        // that leaves.
        if self.client_ended || self.conn.inbuf.len() >= READ_AHEAD {
            return if progress {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        }
        match client::poll_read(&*self.conn.io, cx, &mut self.conn.inbuf) {
            Poll::Ready(Ok(0)) if self.tunnel => {
                self.client_ended = true;
                self.vconn.end();
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

    /// The client left (or its socket failed): the app's request is cancelled.
    fn client_gone(&mut self) -> Outcome {
        let mut fx = Effects::default();
        answer::lock(&self.conn.answer).give_up(false, &mut fx);
        self.vconn.apply(fx);
        Outcome::Done(Next::Close)
    }

    /// The client's body broke its framing or grew too large: its refusal if the client
    /// has heard nothing yet, else the connection just closes.
    fn bad_body(&mut self, why: Rejection) -> Outcome {
        tracing::debug!(error = why.reason, "request body refused");
        if self.give_up() {
            Outcome::BadBody(why)
        } else {
            Outcome::Done(Next::Close)
        }
    }
}
