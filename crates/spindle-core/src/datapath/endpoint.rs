//! A worker as the data path sees it: where to send requests and how busy it is.
//!
//! Two counts: requests in flight (from claim until the response body is done) and, of
//! those, requests still waiting for the worker's answer. A worker whose event loop is
//! saturated gets at most [`SATURATED_WAITING`] unanswered requests at a time; the rest
//! wait in the coordinator's per-app queue (see [`super::queue`]) and go to whichever worker
//! answers first. Handed to the worker at once, they would wait in its socket buffers,
//! where one slow request delays everything queued behind it on that worker while the
//! other worker may be free (docs/benchmarks.md has the measurements). A worker that is
//! not saturated (I/O-bound apps, the common case) takes up to `maxInFlightPerWorker`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::pipe::Pipe;
use super::queue::AppQueue;
use crate::WorkerId;

/// Unanswered requests a saturated worker is given at once: enough that it never waits
/// for the next one (its answer and the next request cross while it works on another),
/// few enough that the queue stays in the coordinator.
pub const SATURATED_WAITING: usize = 4;

/// Event-loop utilization from which a worker counts as saturated, and below which it
/// stops counting so (hysteresis: a capped worker stays near full, so one threshold
/// would flap on every sample).
const SATURATED_ABOVE: f64 = 0.95;
pub const SATURATED_BELOW: f64 = 0.80;

pub struct Endpoint {
    pub id: WorkerId,
    /// The way to the worker's thread.
    pub pipe: Arc<Pipe>,
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
    saturated: AtomicBool,
    queue: Arc<AppQueue>,
}

impl Endpoint {
    pub fn new(pipe: Arc<Pipe>, queue: Arc<AppQueue>) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            id: pipe.worker.clone(),
            pipe,
            in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            saturated: AtomicBool::new(false),
            queue,
        })
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether [`Endpoint::try_begin`] would take another request now.
    pub fn has_room(&self, max: usize) -> bool {
        self.in_flight() < max
            && !(self.saturated.load(Ordering::Relaxed)
                && self.waiting.load(Ordering::Relaxed) >= SATURATED_WAITING)
    }

    /// Records the worker's latest event-loop utilization (from the health sampler).
    pub fn observe_elu(&self, elu: f64) {
        if elu >= SATURATED_ABOVE {
            self.saturated.store(true, Ordering::Relaxed);
        } else if elu < SATURATED_BELOW && self.saturated.swap(false, Ordering::Relaxed) {
            // Requests queued for the cap may go now, as many as there are.
            self.queue.wake_all();
        }
    }

    /// Counts a request against this worker until the guard drops (when the response
    /// body has been sent, or the request failed), unless it has no room (see the module
    /// docs). Exact, not best effort: each freed place wakes one queued request, and a
    /// woken request that finds no room queues again at the back.
    pub fn try_begin(self: &Arc<Self>, max: usize) -> Option<InFlight> {
        let cap = if self.saturated.load(Ordering::Relaxed) {
            SATURATED_WAITING
        } else {
            usize::MAX
        };
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < cap).then_some(n + 1)
            })
            .ok()?;
        if self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(InFlight {
            endpoint: self.clone(),
            waiting: true,
            max,
        })
    }
}

pub struct InFlight {
    endpoint: Arc<Endpoint>,
    /// Until the worker's response head arrives.
    waiting: bool,
    /// The worker's `maxInFlightPerWorker`.
    max: usize,
}

impl InFlight {
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    /// The worker answered (its response head arrived); the body may still stream.
    pub fn answered(&mut self) {
        if std::mem::take(&mut self.waiting) {
            self.endpoint.waiting.fetch_sub(1, Ordering::AcqRel);
            if self.endpoint.saturated.load(Ordering::Relaxed) {
                self.endpoint.queue.released();
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.waiting {
            self.endpoint.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        let before = self.endpoint.in_flight.fetch_sub(1, Ordering::AcqRel);
        // Wake a queued request only when this made room it could use: under saturation
        // answered() already woke one for the freed place, and a second wake-up would
        // send a waiter to look for room that is not there.
        if self.waiting || before >= self.max {
            self.endpoint.queue.released();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Arc<Endpoint> {
        Endpoint::new(crate::datapath::pipe::testing::pipe().0, Arc::default())
    }

    #[test]
    fn a_worker_that_is_not_saturated_takes_up_to_max() {
        let e = endpoint();
        let claims: Vec<_> = (0..10).map_while(|_| e.try_begin(10)).collect();
        assert_eq!(claims.len(), 10);
        assert!(e.try_begin(10).is_none());
        assert!(!e.has_room(10));
        drop(claims);
        assert_eq!(e.in_flight(), 0);
        assert!(e.has_room(10));
    }

    #[test]
    fn a_saturated_worker_gets_only_a_few_unanswered_requests() {
        let e = endpoint();
        e.observe_elu(0.99);
        let mut claims: Vec<_> = (0..100).map_while(|_| e.try_begin(100)).collect();
        assert_eq!(claims.len(), SATURATED_WAITING);
        assert!(!e.has_room(100));
        // An answered request streaming its body no longer holds a place.
        claims[0].answered();
        assert!(e.has_room(100));
        let next = e.try_begin(100).expect("room after an answer");
        assert_eq!(e.in_flight(), SATURATED_WAITING + 1);
        drop(next);
        drop(claims);
        assert_eq!(e.in_flight(), 0);
    }

    #[test]
    fn saturation_clears_only_well_below_the_threshold() {
        let e = endpoint();
        e.observe_elu(0.97);
        e.observe_elu(0.85);
        let held: Vec<_> = (0..100).map_while(|_| e.try_begin(100)).collect();
        assert_eq!(held.len(), SATURATED_WAITING, "still saturated at 0.85");
        e.observe_elu(0.5);
        assert!(e.try_begin(100).is_some(), "cleared at 0.5");
    }
}
