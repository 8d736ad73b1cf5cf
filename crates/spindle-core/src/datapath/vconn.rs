//! A virtual connection: what the app's server sees as one client socket, carried
//! through memory. The core writes request bytes into the worker's inbox; the worker's
//! writes go to the [`Answer`] of the exchange the connection carries, on the worker's
//! own thread.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::answer::{self, Effects, Fate, Shared};
use super::pipe::{Gone, Pipe};
use super::wire::Kind;
use crate::WorkerId;

/// Bytes the core queues for one connection before the worker has taken them (a busy
/// worker stops the client's upload).
pub const WINDOW: usize = 256 * 1024;

pub struct VConn {
    id: u32,
    pipe: Arc<Pipe>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The answer being sent on this connection, while an exchange uses it.
    answer: Option<Shared>,
    /// The worker ended its side.
    end: bool,
    closed: Option<Closed>,
    /// A sender waiting for the worker to resume reading.
    writer: Option<Waker>,
    /// The worker's side holds all the unread input it wants.
    paused: bool,
    /// The worker has heard of this connection (it comes with the first request).
    opened: bool,
    /// The client of the last request sent on this connection.
    peer: Option<SocketAddr>,
    /// The inbox generation the current request's start was queued under.
    request_at: u64,
    /// The current request can be sent again whole (it has no body and is no upgrade).
    movable: bool,
    /// Data bytes queued in the inbox under generation `queued_at`.
    queued: usize,
    queued_at: u64,
}

/// Why a connection ended before its exchange did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The app destroyed the socket.
    ByApp,
    /// The worker thread exited.
    WorkerGone,
    /// The core gave it up.
    ByCore,
    /// The app ended its side (`socket.end()`).
    AppEnded,
    /// The worker's event loop was found stuck before it took the request.
    Withdrawn,
}

impl Closed {
    pub fn describe(self) -> &'static str {
        match self {
            Closed::ByApp => "the app closed the connection",
            Closed::WorkerGone => "the worker exited",
            Closed::ByCore => "the connection was closed",
            Closed::AppEnded => "the app ended the connection",
            Closed::Withdrawn => "the worker's event loop is stuck and never took the request",
        }
    }
}

impl VConn {
    pub(super) fn new(id: u32, pipe: Arc<Pipe>) -> Arc<VConn> {
        Arc::new(VConn {
            id,
            pipe,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn worker(&self) -> &WorkerId {
        &self.pipe.worker
    }

    pub fn is_closed(&self) -> bool {
        let state = self.state();
        state.closed.is_some() || state.end
    }

    /// Starts a request from `peer`: the bytes `fill` writes (its head, and what of its
    /// body is at hand) go to the worker, whose answer goes to `answer`. `movable`: the
    /// bytes are the whole request (no body follows), so it could be sent again.
    pub fn send_request(
        &self,
        peer: SocketAddr,
        answer: &Shared,
        movable: bool,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), Gone> {
        let mut state = self.state();
        if state.closed.is_some() || state.end {
            return Err(Gone);
        }
        state.answer = Some(answer.clone());
        let open = !state.opened;
        let new_peer = (state.peer != Some(peer)).then_some(peer);
        let mut written = 0;
        let generation = self.pipe.push_request(self.id, open, new_peer, |out| {
            let before = out.len();
            fill(out);
            written = out.len() - before;
        })?;
        state.peer = Some(peer);
        state.opened = true;
        state.request_at = generation;
        state.movable = movable;
        Self::count_queued(&mut state, generation, written);
        Ok(())
    }

    /// More bytes of the request (its body, or a tunnel's).
    pub fn send(&self, data: &[u8]) -> Result<(), Gone> {
        let mut state = self.state();
        if state.closed.is_some() {
            return Err(Gone);
        }
        let generation = self.pipe.push(self.id, Kind::Data, data)?;
        Self::count_queued(&mut state, generation, data.len());
        Ok(())
    }

    fn count_queued(state: &mut State, generation: u64, n: usize) {
        if state.queued_at != generation {
            state.queued = 0;
            state.queued_at = generation;
        }
        state.queued += n;
    }

    /// Ready when the worker can take more bytes: it has not paused this connection and
    /// less than [`WINDOW`] of them wait in its inbox.
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Gone>> {
        let mut state = self.state();
        if state.closed.is_some() {
            return Poll::Ready(Err(Gone));
        }
        if state.paused {
            state.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if state.queued_at != self.pipe.generation() {
            state.queued = 0;
        }
        if state.queued < WINDOW {
            return Poll::Ready(Ok(()));
        }
        if self.pipe.wait_taken(state.queued_at, cx.waker()) {
            return Poll::Pending;
        }
        state.queued = 0;
        Poll::Ready(Ok(()))
    }

    /// Lets the answer go: the exchange on this connection is over.
    pub fn detach(&self) {
        self.state().answer = None;
    }

    /// Sends a drained record: the worker may write again.
    pub fn drained(&self) {
        let _ = self.pipe.push(self.id, Kind::Drained, &[]);
    }

    /// The client will send nothing more (a tunnel's half-close).
    pub fn end(&self) {
        let state = self.state();
        if state.closed.is_none() {
            let _ = self.pipe.push(self.id, Kind::End, &[]);
        }
    }

    /// Gives the connection up: the worker destroys its side, and the app sees its
    /// request aborted if one was in progress.
    pub fn close(&self) {
        let mut state = self.state();
        if state.closed.is_some() {
            return;
        }
        state.closed = Some(Closed::ByCore);
        state.answer = None;
        if state.opened {
            let _ = self.pipe.push(self.id, Kind::Close, &[]);
        }
        drop(state);
        self.pipe.forget(self.id);
    }

    // ---- the worker's side ----

    /// Bytes the app wrote: they go on to the client now, on this thread.
    pub(super) fn worker_wrote(self: &Arc<Self>, data: &[u8]) -> bool {
        let answer = {
            let state = self.state();
            if state.closed.is_some() {
                // The app waits, and so gets to the close record in its inbox, instead of
                // writing on into nothing.
                return false;
            }
            state.answer.clone()
        };
        let Some(answer) = answer else {
            // Nothing asked for it (an app writing after its answer ended): the
            // connection is out of step and not used again.
            self.close();
            return false;
        };
        let mut fx = Effects::default();
        // A worker with more requests waiting leaves the writing to the core, and goes on
        // with them; an idle one writes at once, which saves the client a thread hop.
        let direct = !self.pipe.busy();
        let more = answer::lock(&answer).on_bytes(data, direct, &mut fx);
        self.apply(fx);
        more
    }

    /// Carries out what the answer decided, outside its lock.
    pub(super) fn apply(self: &Arc<Self>, fx: Effects) {
        if fx.drained {
            self.drained();
        }
        match fx.fate {
            Fate::Keep => {}
            Fate::Reuse => {
                self.detach();
                // Back in the pool before the slot is released, so a request waiting for
                // that slot finds the connection idle.
                self.pipe.checkin(self.clone());
            }
            Fate::Close => self.close(),
        }
        fx.apply();
    }

    pub(super) fn worker_end(self: &Arc<Self>) {
        self.ended(Closed::AppEnded, true);
    }

    pub(super) fn worker_closed(self: &Arc<Self>) {
        self.ended(Closed::ByApp, false);
    }

    pub(super) fn worker_gone(self: &Arc<Self>) {
        self.ended(Closed::WorkerGone, false);
    }

    /// The worker was found stuck: a whole request it has not taken from its inbox is
    /// taken back (the app never saw it, so it may go to another worker whatever its
    /// method) and its answer fails as withdrawn. True when it was. A request the worker
    /// took stays: it may be the one that holds the loop, and moving it would stall the
    /// next worker too.
    pub(super) fn withdraw_if_untaken(self: &Arc<Self>) -> bool {
        let (answer, writer) = {
            let mut state = self.state();
            if state.closed.is_some() || state.end || !state.movable {
                return false;
            }
            let Some(answer) = state.answer.clone() else {
                return false;
            };
            let Some(opened_now) = self.pipe.withdraw(self.id, state.request_at) else {
                return false;
            };
            state.closed = Some(Closed::Withdrawn);
            state.answer = None;
            if !opened_now {
                // The worker knows the connection from an earlier request: it closes it
                // should its loop come back.
                let _ = self.pipe.push(self.id, Kind::Close, &[]);
            }
            (answer, state.writer.take())
        };
        self.pipe.forget(self.id);
        if let Some(w) = writer {
            w.wake();
        }
        let mut fx = Effects::default();
        answer::lock(&answer).on_end(Closed::Withdrawn.describe(), &mut fx);
        self.apply(fx);
        true
    }

    fn ended(self: &Arc<Self>, why: Closed, end_only: bool) {
        let (answer, writer) = {
            let mut state = self.state();
            if end_only {
                state.end = true;
            } else if state.closed.is_none() {
                state.closed = Some(why);
            }
            (state.answer.clone(), state.writer.take())
        };
        if let Some(w) = writer {
            w.wake();
        }
        if let Some(answer) = answer {
            let mut fx = Effects::default();
            answer::lock(&answer).on_end(why.describe(), &mut fx);
            self.apply(fx);
        }
    }

    pub(super) fn set_paused(&self, paused: bool) {
        let mut state = self.state();
        state.paused = paused;
        let writer = if paused { None } else { state.writer.take() };
        drop(state);
        if let Some(w) = writer {
            w.wake();
        }
    }
}

impl std::fmt::Debug for VConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VConn({}#{})", self.pipe.worker, self.id)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Context;

    use super::super::pipe::testing::{pipe, records};
    use super::*;

    fn answer() -> Shared {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let _guard = rt.enter();
        answer::shared(Arc::new(tokio::net::UnixStream::from_std(a).unwrap()))
    }

    /// A connection the worker knows of (it carried a request), with the inbox emptied.
    fn opened(pipe: &Arc<Pipe>) -> Arc<VConn> {
        let conn = pipe.checkout().unwrap();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        conn.send_request(peer, &answer(), true, |_| {}).unwrap();
        records(pipe);
        conn
    }

    #[test]
    fn a_request_goes_out_with_its_peer_only_when_the_client_changes() {
        let (pipe, _) = pipe();
        let conn = pipe.checkout().unwrap();
        let answer = answer();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        conn.send_request(peer, &answer, true, |o| {
            o.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n")
        })
        .unwrap();
        let got = records(&pipe);
        let mut client = 5000u16.to_le_bytes().to_vec();
        client.extend_from_slice(b"127.0.0.1");
        assert_eq!(
            got[0],
            (conn.id(), Kind::Open, client),
            "opened with its client"
        );
        assert_eq!(
            got[1],
            (conn.id(), Kind::Data, b"GET / HTTP/1.1\r\n\r\n".to_vec())
        );
        assert_eq!(got.len(), 2);
        conn.send_request(peer, &answer, true, |o| o.extend_from_slice(b"x"))
            .unwrap();
        assert_eq!(records(&pipe).len(), 1, "same client: no peer record");
        let other: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        conn.send_request(other, &answer, true, |o| o.extend_from_slice(b"y"))
            .unwrap();
        assert_eq!(records(&pipe)[0].1, Kind::Peer);
    }

    #[test]
    fn a_request_the_worker_never_took_is_withdrawn_whole() {
        let (pipe, _) = pipe();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        // A pooled connection: its second request is withdrawn; the worker closes it.
        let pooled = opened(&pipe);
        let answer_b = answer();
        pooled
            .send_request(peer, &answer_b, true, |o| o.extend_from_slice(b"GET /b"))
            .unwrap();
        // New connection, request untaken: its records leave the inbox, and the worker,
        // which never heard of the connection, gets nothing at all.
        let fresh = pipe.checkout().unwrap();
        let answer_a = answer();
        fresh
            .send_request(peer, &answer_a, true, |o| o.extend_from_slice(b"GET /a"))
            .unwrap();
        assert_eq!(pipe.withdraw_untaken(), 2);
        assert!(fresh.is_closed() && pooled.is_closed());
        assert_eq!(
            records(&pipe),
            vec![(pooled.id(), Kind::Close, vec![])],
            "only the pooled connection's close is left"
        );
        assert_eq!(pipe.open(), 0);
        for answer in [&answer_a, &answer_b] {
            assert!(!answer::lock(answer).started());
        }
    }

    #[test]
    fn a_request_the_worker_took_or_one_with_a_body_stays() {
        let (pipe, _) = pipe();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let taken = pipe.checkout().unwrap();
        taken
            .send_request(peer, &answer(), true, |o| o.extend_from_slice(b"GET /"))
            .unwrap();
        records(&pipe);
        let with_body = pipe.checkout().unwrap();
        with_body
            .send_request(peer, &answer(), false, |o| o.extend_from_slice(b"POST /"))
            .unwrap();
        assert_eq!(pipe.withdraw_untaken(), 0);
        assert!(!taken.is_closed() && !with_body.is_closed());
        assert_eq!(
            records(&pipe).len(),
            2,
            "the body's request is still queued"
        );
    }

    #[test]
    fn sending_waits_while_the_window_is_full_or_the_worker_paused() {
        let (pipe, _) = pipe();
        let conn = opened(&pipe);
        conn.send(&vec![0; WINDOW]).unwrap();
        let ready = |conn: &Arc<VConn>| {
            let waker = futures_util::task::noop_waker();
            conn.poll_send_ready(&mut Context::from_waker(&waker))
        };
        assert!(ready(&conn).is_pending(), "window full");
        records(&pipe);
        assert!(ready(&conn).is_ready(), "taken by the worker");
        pipe.pause(conn.id());
        assert!(ready(&conn).is_pending(), "paused");
        pipe.resume(conn.id());
        assert!(ready(&conn).is_ready());
    }

    #[test]
    fn closing_tells_the_worker_once_and_asks_it_to_stop_writing() {
        let (pipe, _) = pipe();
        let conn = opened(&pipe);
        conn.close();
        conn.close();
        assert_eq!(records(&pipe), vec![(conn.id(), Kind::Close, vec![])]);
        assert!(conn.send(b"x").is_err());
        assert_eq!(pipe.open(), 0);
        assert!(!pipe.worker_wrote(conn.id(), b"late"));
    }

    #[test]
    fn bytes_nobody_asked_for_close_the_connection() {
        let (pipe, _) = pipe();
        let conn = opened(&pipe);
        conn.detach();
        assert!(!pipe.worker_wrote(conn.id(), b"HTTP/1.1 408 Request Timeout\r\n\r\n"));
        assert!(conn.is_closed());
        assert_eq!(records(&pipe), vec![(conn.id(), Kind::Close, vec![])]);
    }
}
