//! A virtual connection: what the app's server sees as one client socket, carried
//! through memory. The core writes request bytes into the worker's inbox; the worker's
//! writes land here, and the core task that owns the exchange reads them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;

use super::pipe::{Gone, Pipe};
use super::wire::Kind;
use crate::WorkerId;

/// Bytes the worker may have written that the core has not yet taken for its client
/// before the worker is asked to wait (a slow client slows the app's writes).
pub const HIGH_WATER: usize = 256 * 1024;
/// Bytes the core queues for one connection before the worker has taken them (a busy
/// worker stops the client's upload).
pub const WINDOW: usize = 256 * 1024;
/// Below this, bytes from the worker are copied out; above, the buffer is handed over.
const HAND_OVER: usize = 16 * 1024;

pub struct VConn {
    id: u32,
    pipe: Arc<Pipe>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// From the worker, not yet read by the core.
    out: BytesMut,
    /// The worker ended its side.
    end: bool,
    closed: Option<Closed>,
    reader: Option<Waker>,
    /// A sender waiting for the worker to resume reading.
    writer: Option<Waker>,
    /// The worker's side holds all the unread input it wants.
    paused: bool,
    /// The worker waits for a drained record before it writes again.
    blocked: bool,
    /// The client of the last request sent on this connection.
    peer: Option<SocketAddr>,
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
}

impl Closed {
    pub fn describe(self) -> &'static str {
        match self {
            Closed::ByApp => "the app closed the connection",
            Closed::WorkerGone => "the worker exited",
            Closed::ByCore => "the connection was closed",
        }
    }
}

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Bytes were appended to the buffer.
    Data,
    /// The worker ended its side; nothing more will come.
    Eof,
    Closed(Closed),
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
    /// body is at hand) go to the worker.
    pub fn send_request(
        &self,
        peer: SocketAddr,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), Gone> {
        let mut state = self.state();
        if state.closed.is_some() || state.end {
            return Err(Gone);
        }
        let new_peer = (state.peer != Some(peer)).then_some(peer);
        let mut written = 0;
        let generation = self.pipe.push_request(self.id, new_peer, |out| {
            let before = out.len();
            fill(out);
            written = out.len() - before;
        })?;
        state.peer = Some(peer);
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

    /// Moves what the worker wrote into `buf`.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<Read> {
        let mut state = self.state();
        if !state.out.is_empty() {
            if buf.is_empty() && state.out.len() >= HAND_OVER {
                std::mem::swap(buf, &mut state.out);
            } else {
                buf.extend_from_slice(&state.out);
                state.out.clear();
            }
            if std::mem::take(&mut state.blocked) {
                let _ = self.pipe.push(self.id, Kind::Drained, &[]);
            }
            return Poll::Ready(Read::Data);
        }
        if state.end {
            return Poll::Ready(Read::Eof);
        }
        if let Some(why) = state.closed {
            return Poll::Ready(Read::Closed(why));
        }
        state.reader = Some(cx.waker().clone());
        Poll::Pending
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
        let _ = self.pipe.push(self.id, Kind::Close, &[]);
        drop(state);
        self.pipe.forget(self.id);
    }

    // ---- the worker's side ----

    pub(super) fn worker_wrote(&self, data: &[u8]) -> bool {
        let mut state = self.state();
        if state.closed.is_some() {
            return true;
        }
        state.out.extend_from_slice(data);
        let reader = state.reader.take();
        let more = state.out.len() < HIGH_WATER;
        if !more {
            state.blocked = true;
        }
        drop(state);
        if let Some(r) = reader {
            r.wake();
        }
        more
    }

    pub(super) fn worker_end(&self) {
        let mut state = self.state();
        state.end = true;
        let reader = state.reader.take();
        drop(state);
        if let Some(r) = reader {
            r.wake();
        }
    }

    pub(super) fn worker_closed(&self) {
        self.fail(Closed::ByApp);
    }

    pub(super) fn worker_gone(&self) {
        self.fail(Closed::WorkerGone);
    }

    fn fail(&self, why: Closed) {
        let mut state = self.state();
        if state.closed.is_none() {
            state.closed = Some(why);
        }
        let (reader, writer) = (state.reader.take(), state.writer.take());
        drop(state);
        for w in [reader, writer].into_iter().flatten() {
            w.wake();
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
    use std::future::poll_fn;

    use super::super::pipe::testing::{pipe, records};
    use super::*;

    #[tokio::test]
    async fn a_request_goes_out_with_its_peer_and_the_answer_comes_back() {
        let (pipe, _) = pipe();
        let conn = pipe.checkout().unwrap();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        conn.send_request(peer, |o| o.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n"))
            .unwrap();
        let got = records(&pipe);
        assert_eq!(got.len(), 3, "open, peer, data: {got:?}");
        assert_eq!(got[1].1, Kind::Peer);
        assert_eq!(
            got[2],
            (conn.id(), Kind::Data, b"GET / HTTP/1.1\r\n\r\n".to_vec())
        );

        // The same client again: no peer record.
        conn.send_request(peer, |o| o.extend_from_slice(b"x"))
            .unwrap();
        assert_eq!(records(&pipe).len(), 1);

        assert!(pipe.worker_wrote(conn.id(), b"HTTP/1.1 200 OK\r\n"));
        assert!(pipe.worker_wrote(conn.id(), b"\r\n"));
        let mut buf = BytesMut::new();
        let read = poll_fn(|cx| conn.poll_read(cx, &mut buf)).await;
        assert_eq!(read, Read::Data);
        assert_eq!(&buf[..], b"HTTP/1.1 200 OK\r\n\r\n");
    }

    #[tokio::test]
    async fn a_reader_is_woken_by_the_worker_and_told_why_it_ended() {
        let (pipe, _) = pipe();
        let conn = pipe.checkout().unwrap();
        let reader = {
            let conn = conn.clone();
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                let first = poll_fn(|cx| conn.poll_read(cx, &mut buf)).await;
                let second = poll_fn(|cx| conn.poll_read(cx, &mut buf)).await;
                (first, second, buf)
            })
        };
        tokio::task::yield_now().await;
        pipe.worker_wrote(conn.id(), b"partial");
        pipe.worker_closed(conn.id());
        let (first, second, buf) = reader.await.unwrap();
        assert_eq!(first, Read::Data);
        assert_eq!(second, Read::Closed(Closed::ByApp));
        assert_eq!(&buf[..], b"partial");
    }

    #[tokio::test]
    async fn a_worker_that_writes_past_the_high_water_mark_waits_for_drained() {
        let (pipe, _) = pipe();
        let conn = pipe.checkout().unwrap();
        records(&pipe);
        let chunk = vec![b'x'; HIGH_WATER / 2];
        assert!(pipe.worker_wrote(conn.id(), &chunk));
        assert!(!pipe.worker_wrote(conn.id(), &chunk), "at the mark: wait");
        let mut buf = BytesMut::new();
        poll_fn(|cx| conn.poll_read(cx, &mut buf)).await;
        assert_eq!(buf.len(), HIGH_WATER);
        assert_eq!(records(&pipe), vec![(conn.id(), Kind::Drained, vec![])]);
    }

    #[tokio::test]
    async fn sending_waits_while_the_window_is_full_or_the_worker_paused() {
        let (pipe, _) = pipe();
        let conn = pipe.checkout().unwrap();
        records(&pipe);
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

    #[tokio::test]
    async fn closing_tells_the_worker_once() {
        let (pipe, _) = pipe();
        let conn = pipe.checkout().unwrap();
        records(&pipe);
        conn.close();
        conn.close();
        assert_eq!(records(&pipe), vec![(conn.id(), Kind::Close, vec![])]);
        assert!(conn.send(b"x").is_err());
        assert_eq!(pipe.open(), 0);
    }
}
