//! The worker's answer on its way to the client. It is followed on the worker's own
//! thread, as the app writes it: the response head is parsed (for its status, framing
//! and the few rewrites), the bytes go straight to the client socket, and when the
//! answer is complete the worker's slot and the virtual connection are freed, all without
//! a hop through a core thread. The core task that owns the client connection is woken
//! only when it has something to do: a short write to finish, a failure to answer for,
//! the connection to close, or a pipelined request waiting.
//!
//! One `Answer` per client connection, reused from request to request; during an
//! exchange its virtual connection holds it too.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use tokio::time::Instant;

use super::app::App;
use super::client::{self, Client};
use super::endpoint::InFlight;
use super::exchange::Request;
use super::http1::{self, ChunkedDecoder, Framing};

/// Largest response head a worker may send.
const MAX_RESPONSE_HEAD: usize = 256 * 1024;
/// Bytes waiting for a slow client before the worker is asked to wait.
pub const HIGH_WATER: usize = 256 * 1024;

/// What is left of a body.
pub enum Left {
    Done,
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

impl Left {
    pub fn of(framing: Framing) -> Left {
        match framing {
            Framing::None | Framing::Length(0) => Left::Done,
            Framing::Length(n) => Left::Length(n),
            Framing::Chunked => Left::Chunked(ChunkedDecoder::new()),
            Framing::UntilClose => Left::UntilClose,
        }
    }

    /// How many bytes at the start of `data` belong to the body, consuming them.
    pub fn take(&mut self, data: &[u8]) -> Result<usize, &'static str> {
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

    pub fn is_done(&self) -> bool {
        matches!(self, Left::Done)
    }
}

pub enum Phase {
    /// Waiting for the (final) response head.
    Head,
    Body(Left),
    /// After a 101: bytes both ways until either side ends.
    Tunnel,
    /// The answer is complete (or was cut short, with `close` set).
    Done,
    /// The worker failed before a byte of its answer came: the request may be retried.
    Unanswered(&'static str),
    /// The worker's answer is not HTTP we can pass on; the client has heard nothing.
    Bad(String),
    /// No response head in time; the client has heard nothing.
    TimedOut,
}

pub struct Answer {
    client: Client,
    app: Option<Arc<App>>,
    /// Held until the worker's whole answer came: it counts against the worker's load.
    claim: Option<InFlight>,
    method: String,
    path: String,
    arrived: Instant,
    head_only: bool,
    upgrade: bool,
    http10: bool,
    /// The client connection closes after this answer.
    pub close: bool,
    pub phase: Phase,
    /// The status of the final response head, once it came (or of the core's own reply,
    /// for a traced request); 0 before.
    pub status: u16,
    /// The request's spans, when it is traced: ended here, on the thread that completes
    /// the answer, so their end is the answer's and not when the connection's task next
    /// looks; handed back to the task when the answer failed.
    pub trace: Option<crate::telemetry::RequestSpans>,
    /// The start of a response head not complete yet.
    rbuf: BytesMut,
    /// For the client; `pending[written..]` is not yet written.
    pending: Vec<u8>,
    written: usize,
    /// The core task writes `pending`: a direct write fell short.
    task_writes: bool,
    /// The worker waits for a drained record before it writes again.
    blocked: bool,
    /// The virtual connection can carry another request once this one is done.
    reusable: bool,
    /// A byte of the answer went to the client (an interim head counts).
    started: bool,
    /// The request's body was all passed on.
    pub body_sent: bool,
    /// The core task gave the exchange up (client gone, timed out): nothing more goes out.
    given_up: bool,
    /// Complete, and the slot and virtual connection were let go.
    settled: bool,
    task: Option<Waker>,
    /// The task wants to hear of completion at once (it has more to do than wait for
    /// its client).
    eager: bool,
    /// The task must hear of a change now (a tunnel opened: the client's bytes go on).
    tell_task: bool,
    /// Bytes that came from the worker or went to the client, ever: the task's body
    /// timeout looks for it to move.
    moved: u64,
}

/// What to do once the answer's lock is released.
#[derive(Default)]
pub struct Effects {
    pub release: Option<InFlight>,
    pub fate: Fate,
    pub wake: Option<Waker>,
    /// The worker may write again.
    pub drained: bool,
}

#[derive(Default, PartialEq, Eq, Debug)]
pub enum Fate {
    /// Still in use.
    #[default]
    Keep,
    /// Back to the worker's pool.
    Reuse,
    Close,
}

impl Effects {
    pub fn apply(self) {
        drop(self.release);
        if let Some(waker) = self.wake {
            waker.wake();
        }
    }
}

pub type Shared = Arc<Mutex<Answer>>;

pub fn shared(client: Client) -> Shared {
    Arc::new(Mutex::new(Answer {
        client,
        app: None,
        claim: None,
        method: String::new(),
        path: String::new(),
        arrived: Instant::now(),
        head_only: false,
        upgrade: false,
        http10: false,
        close: false,
        phase: Phase::Done,
        status: 0,
        trace: None,
        rbuf: BytesMut::new(),
        pending: Vec::new(),
        written: 0,
        task_writes: false,
        blocked: false,
        reusable: false,
        started: false,
        body_sent: true,
        given_up: false,
        settled: true,
        task: None,
        eager: false,
        tell_task: false,
        moved: 0,
    }))
}

pub fn lock(shared: &Shared) -> MutexGuard<'_, Answer> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl Answer {
    /// Prepares for the answer to `req`, sent on `claim`'s worker.
    pub fn begin(&mut self, req: &Request, app: &Arc<App>, claim: InFlight, close: bool) {
        self.app = Some(app.clone());
        self.claim = Some(claim);
        self.method.clear();
        self.method.push_str(&req.method);
        self.path.clear();
        self.path.push_str(&req.path);
        self.arrived = req.arrived;
        self.head_only = req.head_only;
        self.upgrade = req.upgrade;
        self.http10 = req.http10;
        self.close = close || !req.keep_alive;
        self.phase = Phase::Head;
        self.status = 0;
        self.rbuf.clear();
        self.pending.clear();
        self.written = 0;
        self.task_writes = false;
        self.blocked = false;
        self.reusable = false;
        self.started = false;
        self.body_sent = req.framing == Framing::None;
        self.given_up = false;
        self.settled = false;
        self.task = None;
        self.eager = false;
        self.tell_task = false;
    }

    pub fn is_tunnel(&self) -> bool {
        matches!(self.phase, Phase::Tunnel)
    }

    /// Grows whenever the answer makes progress.
    pub fn moved(&self) -> u64 {
        self.moved
    }

    // ---- on the worker's thread ----

    /// Bytes the app wrote. Returns whether it may write more now. `direct`: write them
    /// to the client from here, else leave that to the core task.
    pub fn on_bytes(&mut self, data: &[u8], direct: bool, fx: &mut Effects) -> bool {
        if self.given_up {
            // Nobody reads this any more: the app should stop, not write on into nothing.
            return false;
        }
        self.moved += data.len() as u64;
        match &self.phase {
            Phase::Tunnel => self.pending.extend_from_slice(data),
            Phase::Head | Phase::Body(_) => {
                if self.rbuf.is_empty() {
                    let used = self.follow(data);
                    self.rbuf.extend_from_slice(&data[used..]);
                } else {
                    self.rbuf.extend_from_slice(data);
                    let buf = std::mem::take(&mut self.rbuf);
                    let used = self.follow(&buf);
                    self.rbuf = buf;
                    self.rbuf.advance(used);
                }
            }
            // More than the answer: the connection is out of step.
            _ => self.reusable = false,
        }
        if !direct && self.unwritten() > 0 {
            self.task_writes = true;
        }
        self.write_now();
        let more = self.unwritten() < HIGH_WATER && !self.given_up;
        if !more && !self.given_up {
            self.blocked = true;
        }
        // After `blocked`: when these bytes complete the answer, the worker hears at once
        // that it may write again (no later drain can tell it: by then the connection may
        // carry the next request).
        self.settle(fx);
        more
    }

    /// Follows as much of `data` as makes sense now (a partial head waits for more);
    /// returns how many bytes were used.
    fn follow(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        loop {
            match &mut self.phase {
                Phase::Head => match self.head(&data[used..]) {
                    Some(n) => used += n,
                    None => return used,
                },
                Phase::Body(left) => {
                    let n = match left.take(&data[used..]) {
                        Ok(n) => n,
                        Err(why) => {
                            tracing::warn!(error = why, "worker sent an invalid chunked body");
                            self.cut_short();
                            return data.len();
                        }
                    };
                    self.pending.extend_from_slice(&data[used..used + n]);
                    used += n;
                    if left.is_done() {
                        self.phase = Phase::Done;
                        if used < data.len() {
                            self.reusable = false;
                        }
                        return data.len();
                    }
                    return used;
                }
                Phase::Tunnel => {
                    self.pending.extend_from_slice(&data[used..]);
                    return data.len();
                }
                _ => {
                    // Bytes past a complete answer (a body after a 204, say): the app and
                    // the core no longer agree where the connection stands.
                    if used < data.len() {
                        self.reusable = false;
                    }
                    return data.len();
                }
            }
        }
    }

    /// Takes one response head at the start of `data`: how many bytes it took, or None
    /// when more are needed (or the answer failed).
    fn head(&mut self, data: &[u8]) -> Option<usize> {
        if data.is_empty() {
            return None;
        }
        let mut headers = [httparse::EMPTY_HEADER; http1::MAX_HEADERS];
        let head =
            match http1::parse_response(data, &mut headers, self.head_only, MAX_RESPONSE_HEAD) {
                Ok(Some(head)) => head,
                Ok(None) => return None,
                Err(bad) => {
                    self.bad(bad.0);
                    return None;
                }
            };
        let len = head.head_len;
        if head.status < 200 && head.status != 101 {
            // 100 Continue, 103 Early Hints: passed on, the final head follows. Not to an
            // HTTP/1.0 client, which would take it for the answer (RFC 9110 §15.2).
            if !self.http10 {
                self.pending.extend_from_slice(&data[..len]);
                self.started = true;
            }
            return Some(len);
        }
        if let Some(claim) = &mut self.claim {
            claim.answered();
        }
        self.status = head.status;
        if let Some(app) = &self.app {
            app.metrics
                .record(&self.method, head.status, self.arrived.elapsed());
            // Costs only order the queue, so they are learnt only while it holds someone:
            // an app that never queues takes no lock per request for them.
            if app.queue.waiting() > 0 {
                app.queue.observe_cost(&self.path, self.arrived.elapsed());
            }
        }
        self.started = true;
        if head.status == 101 {
            if !self.upgrade {
                self.started = false;
                self.bad("101 Switching Protocols to a request that asked for no upgrade".into());
                return None;
            }
            self.pending.extend_from_slice(&data[..len]);
            // A long-lived tunnel is not a request in flight: it must not make the worker
            // look busy.
            self.claim = None;
            self.close = true;
            self.phase = Phase::Tunnel;
            self.tell_task = true;
            return Some(len);
        }
        if head.framing == Framing::UntilClose {
            self.close = true;
        }
        self.reusable = head.keep_alive;
        http1::write_for_client(&head, self.close, &mut self.pending);
        self.phase = Phase::Body(Left::of(head.framing));
        if let Phase::Body(Left::Done) = self.phase {
            self.phase = Phase::Done;
        }
        Some(len)
    }

    fn bad(&mut self, why: String) {
        if self.started {
            tracing::warn!(error = %why, "worker sent an invalid response");
            self.cut_short();
        } else {
            self.phase = Phase::Bad(why);
        }
    }

    /// The answer cannot go on: what the client got is all it gets.
    fn cut_short(&mut self) {
        self.phase = Phase::Done;
        self.close = true;
        self.reusable = false;
    }

    /// The app ended its side of the connection (`why` None), destroyed it, or the worker
    /// is gone.
    pub fn on_end(&mut self, why: &'static str, fx: &mut Effects) {
        self.reusable = false;
        match &self.phase {
            Phase::Head if !self.started && self.rbuf.is_empty() => {
                self.phase = Phase::Unanswered(why);
            }
            Phase::Head if !self.started => {
                self.phase = Phase::Bad(format!("{why} in the middle of a response head"));
            }
            Phase::Head | Phase::Body(_) | Phase::Tunnel => {
                if !matches!(self.phase, Phase::Body(Left::UntilClose) | Phase::Tunnel) {
                    tracing::debug!(error = why, "response cut short");
                }
                self.cut_short();
            }
            _ => {}
        }
        self.write_now();
        self.settle(fx);
    }

    /// Writes what is pending straight to the client, unless the task does.
    fn write_now(&mut self) {
        while !self.task_writes && self.unwritten() > 0 && !self.given_up {
            match self.client.try_write(&self.pending[self.written..]) {
                Ok(n) if n > 0 => self.wrote(n),
                Err(err) if err.kind() != std::io::ErrorKind::WouldBlock => {
                    // The client is gone; its task learns so from its own read.
                    self.drop_pending();
                    self.cut_short();
                    self.given_up = true;
                }
                // Full (or WouldBlock): the task waits until the socket takes more.
                _ => self.task_writes = true,
            }
        }
    }

    /// Once complete: frees the worker's slot and decides the connection's fate, and
    /// wakes the task if it has something to do.
    fn settle(&mut self, fx: &mut Effects) {
        let complete = !matches!(self.phase, Phase::Head | Phase::Body(_) | Phase::Tunnel);
        if complete && !self.settled {
            self.settled = true;
            fx.release = self.claim.take();
            let clean = matches!(self.phase, Phase::Done)
                && self.reusable
                && self.body_sent
                && self.rbuf.is_empty()
                && !self.given_up;
            fx.fate = if clean { Fate::Reuse } else { Fate::Close };
            if matches!(self.phase, Phase::Done) {
                if let Some(trace) = self.trace.take() {
                    trace.end(self.status);
                }
            }
            if std::mem::take(&mut self.blocked) {
                fx.drained = true;
            }
        }
        let task_needed = (complete && (self.eager || self.close || !self.body_sent))
            || std::mem::take(&mut self.tell_task)
            || self.task_writes
            || matches!(self.phase, Phase::Unanswered(_) | Phase::Bad(_));
        if task_needed {
            fx.wake = self.task.take();
        }
    }

    // ---- on the core task ----

    /// Where the answer stands, for the task: Ready when it is complete and written (or
    /// failed), Pending otherwise (with the task registered to hear of it). Writes what
    /// is pending when a direct write fell short. `eager`: wake the task as soon as the
    /// answer is complete.
    pub fn poll(&mut self, cx: &mut Context<'_>, eager: bool, fx: &mut Effects) -> Poll<()> {
        let task_wrote = self.task_writes;
        while self.task_writes && self.unwritten() > 0 && !self.given_up {
            match client::poll_write(&*self.client, cx, &self.pending[self.written..]) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    self.wrote(n);
                    if self.blocked && self.unwritten() < HIGH_WATER / 2 && !self.settled {
                        self.blocked = false;
                        fx.drained = true;
                    }
                }
                Poll::Ready(_) => {
                    self.drop_pending();
                    self.cut_short();
                    self.given_up = true;
                }
                Poll::Pending => break,
            }
        }
        // What the task wrote may still be held by the connection (TLS records the socket
        // did not take yet): it is not sent until that goes too. A direct write (plain
        // TCP) holds nothing back, so this costs the usual path nothing.
        let mut held = false;
        if task_wrote && self.unwritten() == 0 && !self.given_up {
            match self.client.poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => {
                    self.cut_short();
                    self.given_up = true;
                }
                Poll::Pending => held = true,
            }
        }
        if self.unwritten() == 0 && !held {
            self.task_writes = false;
        }
        self.settle(fx);
        fx.wake = None;
        let complete = !matches!(self.phase, Phase::Head | Phase::Body(_) | Phase::Tunnel);
        if complete && self.unwritten() == 0 && !held {
            return Poll::Ready(());
        }
        if !self.task_writes || self.unwritten() == 0 {
            self.task = Some(cx.waker().clone());
            self.eager = eager;
        }
        Poll::Pending
    }

    /// The task gives the exchange up (the client left, or it took too long): nothing
    /// more is passed on. `timed_out` leaves a response head not yet begun as TimedOut.
    pub fn give_up(&mut self, timed_out: bool, fx: &mut Effects) {
        if timed_out && matches!(self.phase, Phase::Head) && !self.started {
            self.phase = Phase::TimedOut;
        } else if !matches!(self.phase, Phase::Unanswered(_) | Phase::Bad(_)) {
            self.phase = Phase::Done;
        }
        self.given_up = true;
        self.close = true;
        self.reusable = false;
        self.drop_pending();
        self.settle(fx);
        fx.wake = None;
    }

    fn unwritten(&self) -> usize {
        self.pending.len() - self.written
    }

    fn wrote(&mut self, n: usize) {
        self.moved += n as u64;
        self.written += n;
        if self.written == self.pending.len() {
            self.drop_pending();
        } else if self.written > 64 * 1024 && self.written * 2 > self.pending.len() {
            // A slow client: keep only what it has not read.
            self.pending.drain(..self.written);
            self.written = 0;
        }
    }

    fn drop_pending(&mut self) {
        self.pending.clear();
        self.written = 0;
    }

    /// Whether a byte of the answer reached the client.
    pub fn started(&self) -> bool {
        self.started
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
