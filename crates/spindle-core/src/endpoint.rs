//! A worker as the data path sees it: where to send requests and how busy it is.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::capacity::Capacity;
use crate::upstream::Upstream;
use crate::WorkerId;

pub struct Endpoint {
    pub id: WorkerId,
    pub upstream: Arc<Upstream>,
    in_flight: AtomicUsize,
    capacity: Arc<Capacity>,
}

impl Endpoint {
    pub fn new(id: WorkerId, socket: PathBuf, capacity: Arc<Capacity>) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            id,
            upstream: Arc::new(Upstream::new(socket)),
            in_flight: AtomicUsize::new(0),
            capacity,
        })
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a request against this worker until the guard drops (when the response
    /// body has been sent, or the request failed), unless it already has `max` in flight.
    pub fn try_begin(self: &Arc<Self>, max: usize) -> Option<InFlight> {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| InFlight(self.clone()))
    }
}

pub struct InFlight(Arc<Endpoint>);

impl InFlight {
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.capacity.released();
    }
}
