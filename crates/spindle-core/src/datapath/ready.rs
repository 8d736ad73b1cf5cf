//! The published view of who can serve: per app, its Ready workers (or why it has none).
//!
//! The supervisor owns the worker table and publishes a new `ReadyWorkers` on every change;
//! request handlers read the latest one without locking the table.

use std::collections::HashMap;
use std::sync::Arc;

use crate::datapath::endpoint::{Endpoint, InFlight};
use crate::datapath::pick;
use crate::WorkerId;

#[derive(Default)]
pub struct ReadyWorkers {
    apps: HashMap<Arc<str>, ReadyApp>,
}

#[derive(Default)]
pub struct ReadyApp {
    pub ready: Vec<Arc<Endpoint>>,
    /// Set when the app gave up restarting: requests fail at once instead of waiting.
    pub failed: Option<String>,
}

/// Why no worker took the request.
#[derive(Debug, PartialEq)]
pub enum NoWorker {
    /// The app has no Ready worker (other than the excluded ones).
    NoneReady,
    /// No Ready worker has room (`max` requests in flight, or saturated; see
    /// [`crate::endpoint`]).
    AllBusy,
    /// The app is marked failed.
    Failed(String),
    /// No such app.
    Unknown,
}

impl ReadyWorkers {
    pub fn new(apps: HashMap<Arc<str>, ReadyApp>) -> ReadyWorkers {
        ReadyWorkers { apps }
    }

    /// Claims a slot on the Ready worker of `app` with the fewest requests in flight,
    /// skipping `exclude` (workers that already failed this request); ties go to the
    /// first from `start` on.
    pub fn claim(
        &self,
        app: &str,
        exclude: &[WorkerId],
        max: usize,
        start: usize,
    ) -> Result<InFlight, NoWorker> {
        let route = self.apps.get(app).ok_or(NoWorker::Unknown)?;
        if let Some(reason) = &route.failed {
            return Err(NoWorker::Failed(reason.clone()));
        }
        let candidates: Vec<Arc<Endpoint>>;
        let ready: &[Arc<Endpoint>] = if exclude.is_empty() {
            &route.ready
        } else {
            candidates = route
                .ready
                .iter()
                .filter(|e| !exclude.contains(&e.id))
                .cloned()
                .collect();
            &candidates
        };
        if ready.is_empty() {
            return Err(NoWorker::NoneReady);
        }
        // Another request may take the chosen slot between the pick and the claim; then
        // pick again among what is left.
        for _ in 0..ready.len() {
            let Some(endpoint) = pick::least_in_flight(ready, start, max) else {
                break;
            };
            if let Some(claim) = endpoint.try_begin(max) {
                return Ok(claim);
            }
        }
        Err(NoWorker::AllBusy)
    }

    /// Same apps, same Ready workers in the same order, same failures.
    pub fn same_as(&self, other: &ReadyWorkers) -> bool {
        self.apps.len() == other.apps.len()
            && self.apps.iter().all(|(app, route)| {
                other.apps.get(app).is_some_and(|theirs| {
                    route.failed == theirs.failed
                        && route.ready.len() == theirs.ready.len()
                        && route
                            .ready
                            .iter()
                            .zip(&theirs.ready)
                            .all(|(a, b)| Arc::ptr_eq(a, b))
                })
            })
    }

    pub fn ready_count(&self, app: &str) -> usize {
        self.apps.get(app).map_or(0, |r| r.ready.len())
    }
}
