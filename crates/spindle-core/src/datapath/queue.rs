//! Who may take the next request: an app's queue of requests waiting for a worker, and
//! what the app's requests are expected to cost.
//!
//! The queue is ordered by expected finish, not by arrival: a request's place is its
//! arrival time minus what requests to its path have recently taken to be answered
//! (capped at [`MAX_HEAD_START`]). Served in arrival order, an expensive request finishes
//! its own work time later than the cheap ones that arrived with it, and those are the
//! answers that make up the tail; moved ahead by its cost, it finishes with them. Cheap
//! requests lose at most `MAX_HEAD_START` to one that arrived later; with no cost known
//! (or all costs alike) the order is arrival order. docs/benchmarks.md has the numbers.
//!
//! A waiter keeps its place while it waits: woken for a freed slot that someone else
//! took, it waits again where it was, not at the back.

use std::collections::{BTreeSet, HashMap};
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// The most a request's expected cost moves it ahead of earlier arrivals.
pub const MAX_HEAD_START: Duration = Duration::from_millis(100);
/// Paths whose cost an app remembers; more (ids in paths) are treated as unknown.
const MAX_PATHS: usize = 256;
/// Weight of the newest observation in a path's moving average.
const COST_WEIGHT: f64 = 0.2;

#[derive(Default)]
pub struct AppQueue {
    queue: Mutex<Waiters>,
    /// The queue's length, read without the lock on every request.
    waiting: AtomicUsize,
    /// Where the search for the least busy worker starts, so equally idle workers take
    /// turns. Per app: a shared counter would let one app's traffic pattern decide
    /// another's (a call to app B after every request of A always landed on the same A
    /// worker).
    rotation: AtomicUsize,
    costs: Mutex<HashMap<Box<str>, Duration>>,
}

/// Every operation is O(log n): under overload the queue holds thousands of requests,
/// and each finished request wakes one of them.
#[derive(Default)]
struct Waiters {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    /// `(place, id)` of the waiters not woken yet; the first is next.
    order: BTreeSet<(i64, u64)>,
}

struct Entry {
    /// Nanoseconds since an origin before any waiting request arrived; smallest first.
    place: i64,
    /// Woken and not yet back to look.
    notified: bool,
    waker: Option<Waker>,
}

impl Waiters {
    /// Wakes the first waiter in order that is not already woken.
    fn notify_first(&mut self) {
        if let Some((_, id)) = self.order.pop_first() {
            let entry = self.entries.get_mut(&id).expect("ordered entries exist");
            entry.notified = true;
            if let Some(waker) = entry.waker.take() {
                waker.wake();
            }
        }
    }
}

impl AppQueue {
    fn queue(&self) -> MutexGuard<'_, Waiters> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker made room: wake the first waiter, if any.
    pub fn released(&self) {
        // Skip the lock on the hot path when nobody waits.
        if self.waiting.load(Ordering::Acquire) > 0 {
            self.queue().notify_first();
        }
    }

    /// The set of workers or their limits changed: every waiter looks again.
    pub fn wake_all(&self) {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut queue = self.queue();
        let queue = &mut *queue;
        queue.order.clear();
        for entry in queue.entries.values_mut() {
            entry.notified = true;
            if let Some(waker) = entry.waker.take() {
                waker.wake();
            }
        }
    }

    /// Joins the queue at the place of a request to `path` that arrived at `arrived`; the
    /// place is kept until the ticket drops.
    pub fn enqueue(&self, arrived: Instant, path: &str) -> Ticket<'_> {
        let head_start = self.expected_cost(path).min(MAX_HEAD_START);
        let place = nanos_since_origin(arrived) - head_start.as_nanos() as i64;
        let mut queue = self.queue();
        let id = queue.next_id;
        queue.next_id += 1;
        queue.entries.insert(
            id,
            Entry {
                place,
                notified: false,
                waker: None,
            },
        );
        queue.order.insert((place, id));
        self.waiting.fetch_add(1, Ordering::AcqRel);
        Ticket { capacity: self, id }
    }

    /// Requests queued for a worker right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    pub fn next_start(&self) -> usize {
        self.rotation.fetch_add(1, Ordering::Relaxed)
    }

    /// What a request to `path` took to be answered lately (zero when unknown).
    pub fn expected_cost(&self, path: &str) -> Duration {
        let costs = self.costs.lock().unwrap_or_else(|e| e.into_inner());
        costs.get(path).copied().unwrap_or_default()
    }

    /// A request to `path` was answered `took` after it was sent to a worker.
    pub fn observe_cost(&self, path: &str, took: Duration) {
        let mut costs = self.costs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cost) = costs.get_mut(path) {
            *cost = cost.mul_f64(1.0 - COST_WEIGHT) + took.mul_f64(COST_WEIGHT);
        } else if costs.len() < MAX_PATHS {
            costs.insert(path.into(), took);
        }
    }
}

/// A place in an app's queue.
pub struct Ticket<'a> {
    capacity: &'a AppQueue,
    id: u64,
}

impl Ticket<'_> {
    /// Resolves when a slot may be free for this request (it still has to claim it).
    pub async fn notified(&self) {
        poll_fn(|cx| {
            let mut queue = self.capacity.queue();
            let queue = &mut *queue;
            let Some(entry) = queue.entries.get_mut(&self.id) else {
                return Poll::Ready(());
            };
            if std::mem::take(&mut entry.notified) {
                // Back in line at its own place, for the next wake-up if this look fails.
                queue.order.insert((entry.place, self.id));
                Poll::Ready(())
            } else {
                entry.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut queue = self.capacity.queue();
        if let Some(entry) = queue.entries.remove(&self.id) {
            self.capacity.waiting.fetch_sub(1, Ordering::AcqRel);
            if entry.notified {
                // Woken for a slot and gone without looking (timed out, cancelled): the
                // slot goes to the next waiter instead of being lost.
                queue.notify_first();
            } else {
                queue.order.remove(&(entry.place, self.id));
            }
        }
    }
}

fn nanos_since_origin(at: Instant) -> i64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    // Before any request that can still be waiting (the monotonic clock may be younger).
    let origin = *ORIGIN.get_or_init(|| {
        let now = Instant::now();
        now.checked_sub(Duration::from_secs(3600)).unwrap_or(now)
    });
    at.saturating_duration_since(origin).as_nanos() as i64
}

impl std::fmt::Debug for AppQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppQueue")
            .field("waiting", &self.waiting())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    /// `n` waiters for `/`, each come a millisecond after the one before.
    fn in_line(c: &AppQueue, n: u64) -> Vec<Ticket<'_>> {
        let base = Instant::now();
        (0..n).map(|i| c.enqueue(at(base, i), "/")).collect()
    }

    /// Which of `tickets` resolve right now.
    async fn woken(tickets: &[Ticket<'_>]) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, t) in tickets.iter().enumerate() {
            if tokio::time::timeout(Duration::from_millis(1), t.notified())
                .await
                .is_ok()
            {
                out.push(i);
            }
        }
        out
    }

    /// Releases one slot at a time; each time, exactly one waiter must wake, and it takes
    /// the slot (leaves the queue). Returns the labels in the order they were served.
    async fn serve_all(
        c: &AppQueue,
        mut tickets: Vec<(&'static str, Ticket<'_>)>,
    ) -> Vec<&'static str> {
        let mut order = Vec::new();
        while !tickets.is_empty() {
            c.released();
            let mut up = Vec::new();
            for (i, (_, t)) in tickets.iter().enumerate() {
                if tokio::time::timeout(Duration::from_millis(1), t.notified())
                    .await
                    .is_ok()
                {
                    up.push(i);
                }
            }
            assert_eq!(up.len(), 1, "one waiter per slot");
            order.push(tickets.remove(up[0]).0);
        }
        order
    }

    #[tokio::test]
    async fn with_no_cost_known_waiters_are_served_in_arrival_order() {
        let c = AppQueue::default();
        let base = Instant::now();
        let tickets = vec![
            ("a", c.enqueue(at(base, 0), "/")),
            ("b", c.enqueue(at(base, 1), "/")),
            ("c", c.enqueue(at(base, 2), "/")),
        ];
        assert_eq!(c.waiting(), 3);
        assert_eq!(serve_all(&c, tickets).await, ["a", "b", "c"]);
        assert_eq!(c.waiting(), 0);
    }

    #[tokio::test]
    async fn an_expensive_request_goes_ahead_by_its_cost_and_no_further() {
        let c = AppQueue::default();
        c.observe_cost("/heavy", Duration::from_millis(30));
        c.observe_cost("/", Duration::from_micros(100));
        let base = Instant::now();
        // Arrived 40 ms after the first: 30 ms ahead puts it between the two cheap ones.
        let tickets = vec![
            ("cheap, 0 ms", c.enqueue(at(base, 0), "/")),
            ("cheap, 20 ms", c.enqueue(at(base, 20), "/")),
            ("heavy, 40 ms", c.enqueue(at(base, 40), "/heavy")),
        ];
        assert_eq!(
            serve_all(&c, tickets).await,
            ["cheap, 0 ms", "heavy, 40 ms", "cheap, 20 ms"]
        );
    }

    #[tokio::test]
    async fn the_head_start_is_capped() {
        let c = AppQueue::default();
        c.observe_cost("/report", Duration::from_secs(5));
        let base = Instant::now();
        let cheap = c.enqueue(at(base, 0), "/");
        let report = c.enqueue(at(base + MAX_HEAD_START, 1), "/report");
        let tickets = [cheap, report];
        c.released();
        assert_eq!(woken(&tickets).await, [0]);
    }

    #[tokio::test]
    async fn a_woken_waiter_that_finds_no_room_keeps_its_place() {
        let c = AppQueue::default();
        let tickets = in_line(&c, 2);
        c.released();
        assert_eq!(woken(&tickets).await, [0]);
        // It found no room and waits again: the next slot is still its own.
        c.released();
        assert_eq!(woken(&tickets).await, [0]);
    }

    #[tokio::test]
    async fn a_slot_given_to_a_waiter_that_leaves_goes_to_the_next() {
        let c = Arc::new(AppQueue::default());
        let base = Instant::now();
        let first = c.enqueue(at(base, 0), "/");
        let second = c.enqueue(at(base, 1), "/");
        c.released();
        drop(first);
        assert_eq!(woken(&[second]).await, [0]);
    }

    #[tokio::test]
    async fn wake_all_wakes_every_waiter() {
        let c = AppQueue::default();
        let tickets = in_line(&c, 3);
        c.wake_all();
        assert_eq!(woken(&tickets).await, [0, 1, 2]);
    }

    #[test]
    fn costs_are_a_moving_average_and_bounded_in_number() {
        let c = AppQueue::default();
        c.observe_cost("/a", Duration::from_millis(10));
        c.observe_cost("/a", Duration::from_millis(20));
        assert_eq!(c.expected_cost("/a"), Duration::from_millis(12));
        for i in 0..MAX_PATHS * 2 {
            c.observe_cost(&format!("/id/{i}"), Duration::from_millis(1));
        }
        assert_eq!(c.costs.lock().unwrap().len(), MAX_PATHS);
        assert_eq!(c.expected_cost("/never"), Duration::ZERO);
    }
}
