//! The link between the core and one worker thread, through memory.
//!
//! The core writes records (a virtual connection opened, request bytes, closed, …) into
//! the worker's inbox; the first record for a resting worker wakes its event loop, and
//! the worker takes the whole inbox with one call, then, on its next loop turn, whatever
//! came meanwhile, until it finds the inbox empty and rests. Under load, every request
//! that arrives while the worker is busy rides on the same wake-up: one cross-thread call
//! per batch instead of one per read (the prototype measured 0.85–1.0× node cluster
//! without batching, 1.06× with; docs/benchmarks.md).
//!
//! The worker answers through synchronous calls on its own thread ([`Pipe::worker_wrote`]
//! and friends), which queue the bytes on the virtual connection and wake the core task
//! reading it.
//!
//! Locks: a connection's state may be locked before the inbox, never the other way.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::task::Waker;

use super::vconn::VConn;
use super::wire::{self, Kind};
use crate::WorkerId;

/// Asks a worker's event loop to take its inbox soon. It must not block: it is called
/// from core threads. The addon implements it with a threadsafe function.
pub trait Wake: Send + Sync + 'static {
    fn wake(&self);
}

/// Idle virtual connections a worker keeps beyond this are closed instead of pooled.
const MAX_IDLE: usize = 1024;

pub struct Pipe {
    pub worker: WorkerId,
    inbox: Mutex<Inbox>,
    /// Bumped every time the worker takes the inbox: a connection whose bytes were queued
    /// under an older generation has had them taken.
    generation: AtomicU64,
    /// Records wait in the inbox: the worker has more to do once it returns.
    queued: AtomicBool,
    /// Requests queued since the worker last took its inbox, and how many that take
    /// brought: a worker handling a batch of several is busy.
    requests: AtomicU32,
    batch: AtomicU32,
    /// Open connections by id: looked up on every write of the worker, changed only when
    /// one opens or closes.
    open: RwLock<HashMap<u32, Arc<VConn>>>,
    /// Most recently used last.
    idle: Mutex<Vec<Arc<VConn>>>,
    next_id: AtomicU32,
    /// None once the worker is gone.
    wake: Mutex<Option<Box<dyn Wake>>>,
}

struct Inbox {
    records: Vec<u8>,
    /// The buffer the worker last took, given back to be reused.
    spare: Vec<u8>,
    /// Senders waiting for their bytes in the inbox to be taken.
    waiting: Vec<Waker>,
    detached: bool,
    /// The worker was woken and has not yet said it is done with its inbox: new records
    /// need no wake-up, it looks again before it rests (see [`Pipe::rest`]).
    awake: bool,
}

/// The worker is gone: nothing can be sent to it any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

impl Pipe {
    pub fn new(worker: WorkerId, wake: Box<dyn Wake>) -> Arc<Pipe> {
        Arc::new(Pipe {
            worker,
            inbox: Mutex::new(Inbox {
                records: Vec::with_capacity(4096),
                spare: Vec::with_capacity(4096),
                waiting: Vec::new(),
                detached: false,
                awake: false,
            }),
            generation: AtomicU64::new(0),
            queued: AtomicBool::new(false),
            requests: AtomicU32::new(0),
            batch: AtomicU32::new(0),
            open: RwLock::new(HashMap::new()),
            idle: Mutex::new(Vec::new()),
            next_id: AtomicU32::new(0),
            wake: Mutex::new(Some(wake)),
        })
    }

    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn idle_conns(&self) -> MutexGuard<'_, Vec<Arc<VConn>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    // ---- the core's side ----

    /// An idle virtual connection to this worker, or a new one (opened on the worker's
    /// side with its first request, so the app's 'connection' event knows the client).
    pub fn checkout(self: &Arc<Self>) -> Result<Arc<VConn>, Gone> {
        {
            let mut idle = self.idle_conns();
            while let Some(conn) = idle.pop() {
                if !conn.is_closed() {
                    return Ok(conn);
                }
            }
        }
        if self.inbox().detached {
            return Err(Gone);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = VConn::new(id, self.clone());
        self.open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn.clone());
        Ok(conn)
    }

    /// Takes back a connection whose exchange ended cleanly, for the next request.
    pub fn checkin(&self, conn: Arc<VConn>) {
        if conn.is_closed() {
            return;
        }
        let mut idle = self.idle_conns();
        idle.push(conn);
        if idle.len() > MAX_IDLE {
            let oldest = idle.remove(0);
            drop(idle);
            oldest.close();
        }
    }

    /// Idle virtual connections, for tests and status.
    pub fn idle(&self) -> usize {
        self.idle_conns().len()
    }

    /// Open virtual connections (idle or carrying a request).
    pub fn open(&self) -> usize {
        self.open.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub(super) fn forget(&self, id: u32) {
        self.open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Appends one record; returns the generation it was queued under.
    pub(super) fn push(&self, id: u32, kind: Kind, payload: &[u8]) -> Result<u64, Gone> {
        self.push_with(id, kind, |out| out.extend_from_slice(payload))
    }

    /// Appends one record whose payload `fill` writes.
    pub(super) fn push_with(
        &self,
        id: u32,
        kind: Kind,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<u64, Gone> {
        self.append(|records| wire::write_record(records, id, kind, fill))
    }

    /// Appends a request's start: the connection's opening (`open`, with its client) or
    /// a peer record when the client changed, then its bytes.
    pub(super) fn push_request(
        &self,
        id: u32,
        open: bool,
        peer: Option<SocketAddr>,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<u64, Gone> {
        self.append(|records| {
            let kind = if open { Kind::Open } else { Kind::Peer };
            if let Some(peer) = peer {
                wire::write_record(records, id, kind, |out| wire::peer(peer, out));
            } else if open {
                wire::write_record(records, id, kind, |_| {});
            }
            wire::write_record(records, id, Kind::Data, fill);
            self.requests.fetch_add(1, Ordering::Relaxed);
        })
    }

    /// Lets `write` add to the inbox under its lock, then wakes the worker if it rested;
    /// returns the generation the records were queued under.
    fn append(&self, write: impl FnOnce(&mut Vec<u8>)) -> Result<u64, Gone> {
        let mut inbox = self.inbox();
        if inbox.detached {
            return Err(Gone);
        }
        let wake = !std::mem::replace(&mut inbox.awake, true);
        write(&mut inbox.records);
        self.queued.store(true, Ordering::Relaxed);
        let generation = self.generation();
        drop(inbox);
        if wake {
            self.wake();
        }
        Ok(generation)
    }

    /// Registers `waker` to run when the worker next takes its inbox; false (nothing
    /// registered) when that already happened after `generation`, or the worker is gone.
    pub(super) fn wait_taken(&self, generation: u64, waker: &Waker) -> bool {
        let mut inbox = self.inbox();
        if inbox.detached || self.generation() != generation {
            return false;
        }
        inbox.waiting.push(waker.clone());
        true
    }

    /// The worker has other requests to get to: more wait in its inbox, or it is working
    /// through a batch of several.
    pub(super) fn busy(&self) -> bool {
        self.queued.load(Ordering::Relaxed) || self.batch.load(Ordering::Relaxed) > 1
    }

    fn wake(&self) {
        if let Some(wake) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            wake.wake();
        }
    }

    // ---- the worker's side, called on its thread ----

    /// Everything queued for the worker since it last took, or None. Give the buffer back
    /// with [`Pipe::recycle`] once read.
    pub fn take(&self) -> Option<Vec<u8>> {
        let mut inbox = self.inbox();
        if inbox.records.is_empty() {
            return None;
        }
        self.queued.store(false, Ordering::Relaxed);
        self.batch
            .store(self.requests.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        let spare = std::mem::take(&mut inbox.spare);
        let taken = std::mem::replace(&mut inbox.records, spare);
        self.generation.fetch_add(1, Ordering::AcqRel);
        let waiting = std::mem::take(&mut inbox.waiting);
        drop(inbox);
        for waker in waiting {
            waker.wake();
        }
        Some(taken)
    }

    /// The worker is done with what it took. True when more has come meanwhile: it should
    /// take again on its next loop turn (not now: Node runs a threadsafe function's queued
    /// calls back to back, up to 1,000 in one turn, and a worker kept busy that way never
    /// turns its loop, which the health sampler rightly calls a stall). False: it rests,
    /// and the next record wakes it.
    pub fn rest(&self) -> bool {
        let mut inbox = self.inbox();
        if inbox.records.is_empty() {
            inbox.awake = false;
            false
        } else {
            true
        }
    }

    /// A buffer [`Pipe::take`] returned, to be filled again.
    pub fn recycle(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        let mut inbox = self.inbox();
        if inbox.spare.capacity() < buffer.capacity() {
            inbox.spare = buffer;
        }
    }

    fn conn(&self, id: u32) -> Option<Arc<VConn>> {
        self.open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// Bytes the worker wrote on connection `id`. False when the core holds
    /// [`HIGH_WATER`] bytes of it not yet sent to the client: the worker should wait for
    /// a drained record before writing more.
    pub fn worker_wrote(&self, id: u32, data: &[u8]) -> bool {
        match self.conn(id) {
            Some(conn) => conn.worker_wrote(data),
            // Closed by the core a moment ago: the worker waits, and so gets to the close
            // record in its inbox.
            None => false,
        }
    }

    /// The worker ended its side of connection `id` (`socket.end()`).
    pub fn worker_end(&self, id: u32) {
        if let Some(conn) = self.conn(id) {
            conn.worker_end();
        }
    }

    /// The worker destroyed connection `id`.
    pub fn worker_closed(&self, id: u32) {
        if let Some(conn) = self.conn(id) {
            conn.worker_closed();
        }
        self.forget(id);
    }

    /// The worker's side of `id` holds as much unread input as it wants: send no more
    /// until [`Pipe::resume`].
    pub fn pause(&self, id: u32) {
        if let Some(conn) = self.conn(id) {
            conn.set_paused(true);
        }
    }

    pub fn resume(&self, id: u32) {
        if let Some(conn) = self.conn(id) {
            conn.set_paused(false);
        }
    }

    /// The worker's event loop is stuck: the requests it has not taken from its inbox
    /// are withdrawn (see [`VConn::withdraw_if_untaken`]), so that they go to another
    /// worker now instead of waiting for this one's successor and termination. Returns
    /// how many.
    pub fn withdraw_untaken(&self) -> usize {
        let conns: Vec<Arc<VConn>> = self
            .open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        conns.iter().filter(|c| c.withdraw_if_untaken()).count()
    }

    /// Removes connection `id`'s records from the inbox if the worker has not taken the
    /// inbox since `since`: None when it has (or is gone), else whether those records
    /// opened the connection (then the worker never heard of it).
    pub(super) fn withdraw(&self, id: u32, since: u64) -> Option<bool> {
        let mut inbox = self.inbox();
        // `take` bumps the generation under this lock: the check and the removal are one.
        if inbox.detached || self.generation() != since {
            return None;
        }
        let opened = wire::strip(&mut inbox.records, id);
        if inbox.records.is_empty() {
            self.queued.store(false, Ordering::Relaxed);
        }
        let _ = self
            .requests
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        Some(opened)
    }

    /// The worker's thread is ending: every connection fails, nothing more is sent, and
    /// the wake-up handle is dropped here, on the worker's own thread.
    pub fn detach(&self) {
        let waiting = {
            let mut inbox = self.inbox();
            inbox.detached = true;
            inbox.records = Vec::new();
            std::mem::take(&mut inbox.waiting)
        };
        let wake = self.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(wake);
        self.idle_conns().clear();
        let conns: Vec<Arc<VConn>> = self
            .open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, c)| c)
            .collect();
        for conn in conns {
            conn.worker_gone();
        }
        for waker in waiting {
            waker.wake();
        }
    }

    pub fn is_detached(&self) -> bool {
        self.inbox().detached
    }
}

impl std::fmt::Debug for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pipe({})", self.worker)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A worker stand-in: the tests play the worker's JavaScript by calling the pipe's
    //! worker-side methods themselves.

    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[derive(Default)]
    pub struct CountingWake(pub Arc<AtomicUsize>);

    impl Wake for CountingWake {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn pipe() -> (Arc<Pipe>, Arc<AtomicUsize>) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let pipe = Pipe::new(
            WorkerId::new("app", 0),
            Box::new(CountingWake(wakes.clone())),
        );
        (pipe, wakes)
    }

    /// Takes the inbox and decodes it.
    pub fn records(pipe: &Pipe) -> Vec<(u32, Kind, Vec<u8>)> {
        let Some(buf) = pipe.take() else {
            return vec![];
        };
        let records = wire::read_records(&buf).expect("well-formed records");
        pipe.recycle(buf);
        records
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn a_worker_is_woken_once_until_it_rests() {
        let (pipe, wakes) = pipe();
        pipe.push(1, Kind::Data, b"a").unwrap();
        pipe.push(2, Kind::Data, b"b").unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 1, "two records, one wake-up");
        let got = records(&pipe);
        assert_eq!(
            got,
            vec![
                (1, Kind::Data, b"a".to_vec()),
                (2, Kind::Data, b"b".to_vec())
            ]
        );
        pipe.push(3, Kind::Data, b"c").unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 1, "awake: no second wake-up");
        assert!(pipe.rest(), "more came: take again");
        records(&pipe);
        assert!(!pipe.rest(), "nothing left: rest");
        pipe.push(4, Kind::Data, b"d").unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 2, "resting, so woken");
    }

    #[test]
    fn an_idle_connection_is_reused_and_a_closed_one_is_not() {
        let (pipe, _) = pipe();
        let a = pipe.checkout().unwrap();
        pipe.checkin(a.clone());
        let again = pipe.checkout().unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        pipe.checkin(again);
        pipe.worker_closed(a.id());
        let fresh = pipe.checkout().unwrap();
        assert!(!Arc::ptr_eq(&a, &fresh));
        assert_eq!(pipe.open(), 1);
    }

    #[test]
    fn a_detached_pipe_refuses_and_fails_its_connections() {
        let (pipe, _) = pipe();
        let a = pipe.checkout().unwrap();
        pipe.detach();
        assert!(a.is_closed());
        assert_eq!(pipe.checkout().unwrap_err(), Gone);
        assert_eq!(pipe.open(), 0);
        assert!(pipe.take().is_none());
    }

    #[test]
    fn taking_bumps_the_generation_and_reuses_the_buffer() {
        let (pipe, _) = pipe();
        pipe.push(1, Kind::Data, b"a").unwrap();
        let g = pipe.generation();
        let buf = pipe.take().unwrap();
        assert_eq!(pipe.generation(), g + 1);
        let cap = buf.capacity();
        pipe.recycle(buf);
        pipe.push(1, Kind::Data, b"b").unwrap();
        let again = pipe.take().unwrap();
        assert!(again.capacity() >= cap.min(4096));
    }

    #[test]
    fn bytes_from_the_worker_for_a_closed_connection_are_dropped() {
        let (pipe, _) = pipe();
        assert!(!pipe.worker_wrote(42, b"HTTP/1.1 200 OK\r\n\r\n"));
        pipe.worker_end(42);
        pipe.worker_closed(42);
        pipe.pause(42);
        pipe.resume(42);
    }

    #[test]
    fn many_idle_connections_are_capped() {
        let (pipe, _) = pipe();
        let conns: Vec<_> = (0..MAX_IDLE + 5)
            .map(|_| pipe.checkout().unwrap())
            .collect();
        for c in &conns {
            pipe.checkin(c.clone());
        }
        assert_eq!(pipe.idle(), MAX_IDLE);
        assert!(conns[0].is_closed(), "the oldest idle one was closed");
    }
}
