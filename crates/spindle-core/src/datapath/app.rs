//! An app as the data path reaches it: its Ready workers, its queue and its limits. One
//! per app, shared by every connection that sends it requests (public, mesh, injected).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::endpoint::InFlight;
use super::queue::AppQueue;
use super::ready::{NoWorker, ReadyWorkers};
use super::reply::{self, Reply};
use crate::metrics::HttpMetrics;
use crate::WorkerId;

pub struct App {
    pub id: Arc<str>,
    pub ready: watch::Receiver<Arc<ReadyWorkers>>,
    pub queue: Arc<AppQueue>,
    pub max_in_flight: usize,
    pub queue_timeout: Duration,
    /// How long a public request may wait for the response head once its worker has it
    /// (`responseTimeout`); a 504 after that.
    pub response_timeout: Option<Duration>,
    /// What this app's traffic looked like, for /metrics.
    pub metrics: Arc<HttpMetrics>,
    /// Whether requests routed to it by a `server.routes` prefix keep the prefix (Watt's
    /// `wantsAbsoluteUrls`): a Next.js app is built for the path it is served under and
    /// answers only below it.
    pub keeps_prefix: bool,
}

impl App {
    /// A slot on a Ready worker, waiting in the app's queue (until `deadline`) while every
    /// worker is busy or none is Ready yet. The queue's order is by arrival and the
    /// expected cost of requests to `path` (see [`AppQueue`]).
    pub async fn claim(
        &self,
        exclude: &[WorkerId],
        arrived: Instant,
        path: &str,
        deadline: Instant,
    ) -> Result<InFlight, Reply> {
        // The common case: nobody is queued and a worker has room. Registering for a
        // wake-up takes the queue's lock, so it is done only when this look fails.
        let queued_behind = self.queue.waiting() > 0;
        if !queued_behind {
            if let Ok(claim) = self.ready.borrow().claim(
                &self.id,
                exclude,
                self.max_in_flight,
                self.queue.next_start(),
            ) {
                return Ok(claim);
            }
        }
        let mut ready = self.ready.clone();
        // While others wait, a newcomer joins the queue instead of taking the slot a
        // woken waiter is about to claim. Letting it barge in starved queued requests
        // for seconds under CPU-bound load (docs/benchmarks.md).
        let mut look = !queued_behind;
        let mut why = NoWorker::AllBusy;
        // Queued before looking, so a release between the look and the wait is not lost.
        let ticket = self.queue.enqueue(arrived.into_std(), path);
        loop {
            if look {
                let outcome = ready.borrow_and_update().claim(
                    &self.id,
                    exclude,
                    self.max_in_flight,
                    self.queue.next_start(),
                );
                match outcome {
                    Ok(claim) => {
                        drop(ticket);
                        return Ok(claim);
                    }
                    Err(NoWorker::Failed(reason)) => {
                        self.metrics.rejected("app_failed");
                        return Err(reply::app_failed(&self.id, &reason));
                    }
                    Err(NoWorker::Unknown) => {
                        self.metrics.rejected("no_ready_worker");
                        return Err(reply::no_worker(&self.id));
                    }
                    Err(no) => why = no,
                }
            }
            look = true;
            tokio::select! {
                _ = ticket.notified() => {}
                changed = ready.changed() => {
                    if changed.is_err() {
                        return Err(reply::no_worker(&self.id));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(match why {
                        NoWorker::AllBusy => {
                            self.metrics.rejected("overloaded");
                            reply::overloaded(&self.id)
                        }
                        _ => {
                            self.metrics.rejected("no_ready_worker");
                            reply::no_worker(&self.id)
                        }
                    });
                }
            }
        }
    }
}
