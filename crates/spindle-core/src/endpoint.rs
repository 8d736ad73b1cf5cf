//! A Ready worker as the data path sees it: where to send requests and how busy it is.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::upstream::{self, UpstreamClient};
use crate::WorkerId;

pub struct Endpoint {
    pub id: WorkerId,
    pub client: UpstreamClient,
    in_flight: AtomicUsize,
}

impl Endpoint {
    pub fn new(id: WorkerId, socket: PathBuf) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            id,
            client: upstream::client(socket),
            in_flight: AtomicUsize::new(0),
        })
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a request against this worker until the guard drops (when the response
    /// body has been sent, or the request failed).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

pub struct InFlight(Arc<Endpoint>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
