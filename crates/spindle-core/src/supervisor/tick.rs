//! The health tick: samples every serving worker, judges it, and moves retiring ones along.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::health::{self, Choice, Policy, Reason, Spared, Verdict};
use crate::{WorkerId, WorkerState};

use super::lifecycle::{Lifecycle, Retire};
use super::scaling::SCALER_EVERY;
use super::table::{AppEntry, WorkerEntry};
use super::Supervisor;

/// A stuck worker waits for its successor at most this many `maxStall`s before it is
/// terminated anyway: a spinning thread also slows the successor's start.
const STALLED_WAIT_FACTOR: u32 = 3;

/// What a tick asks of the thread factory once it is done with the table.
#[derive(Default)]
struct Asks {
    fill: Vec<Arc<str>>,
    stop: Vec<WorkerId>,
    terminate: Vec<WorkerId>,
}

impl Supervisor {
    /// Samples every serving worker's loop, judges its health, and moves retiring workers along.
    pub(super) fn tick(&mut self) {
        let now = Instant::now();
        let at = now - self.origin;
        let mut asks = Asks::default();
        for (app, entry) in self.apps.iter_mut() {
            move_retiring(app, entry, now, &mut asks);
            judge(app, entry, self.origin, now, at, &mut asks);
        }
        for id in asks.terminate {
            self.host.terminate(&id);
        }
        for id in asks.stop {
            self.host.stop(&id, self.application_grace);
        }
        for app in asks.fill {
            if self.accepting() {
                self.fill(&app);
            }
        }
        self.ticks += 1;
        if self.ticks.is_multiple_of(SCALER_EVERY) {
            self.autoscale(now);
        }
    }
}

/// Ends a stuck worker whose successor takes too long, and stops drained ones.
fn move_retiring(app: &Arc<str>, entry: &mut AppEntry, now: Instant, asks: &mut Asks) {
    let max_wait = entry.policy.max_stall * STALLED_WAIT_FACTOR;
    for (n, w) in entry.workers.iter_mut() {
        let id = || WorkerId::new(app.clone(), *n);
        match w.lifecycle {
            Lifecycle::Retiring(Retire::AwaitSuccessor {
                stalled: true,
                since,
            }) if now - since >= max_wait => {
                tracing::warn!(worker = %id(), "terminating the stuck worker before its successor is ready");
                w.lifecycle.retire(Retire::Stopping);
                asks.terminate.push(id());
            }
            Lifecycle::Retiring(Retire::Draining { deadline }) => {
                let idle = w.endpoint.as_ref().is_none_or(|e| e.in_flight() == 0);
                if idle || now >= deadline {
                    w.lifecycle.retire(Retire::Stopping);
                    asks.stop.push(id());
                }
            }
            _ => {}
        }
    }
}

/// Samples and judges the app's serving workers, and retires those
/// [`health::retirements`] chooses; their successors start once the tick is done.
fn judge(
    app: &Arc<str>,
    entry: &mut AppEntry,
    origin: Instant,
    now: Instant,
    at: Duration,
    asks: &mut Asks,
) {
    let retiring = entry.workers.values().any(|w| w.lifecycle.is_retiring());
    // A worker leaving unasked is not judged, but still counts as serving (it shows as
    // Ready until its exit is seen).
    let mut ready = Vec::new();
    let mut serving = Vec::new();
    for (n, w) in entry.workers.iter_mut() {
        if w.lifecycle.state() != WorkerState::Ready {
            continue;
        }
        ready.push(*n);
        serving.push(health::Serving {
            // Before this tick's sample: saturation is judged on the previous one.
            elu: w.history.latest().map(|s| s.elu),
            verdict: (w.lifecycle == Lifecycle::Serving)
                .then(|| sample(w, &entry.policy, origin, at))
                .flatten(),
        });
    }
    let choices = health::retirements(&serving, retiring);
    for (n, choice) in ready.iter().zip(choices) {
        let id = WorkerId::new(app.clone(), *n);
        match choice {
            Choice::Keep => {}
            Choice::Spare(reason, Spared::Saturated) => {
                tracing::debug!(worker = %id, detail = %reason, "busy, but so is every worker of the app: load, not a fault; kept");
            }
            Choice::Spare(reason, Spared::OneAtATime) => {
                tracing::debug!(worker = %id, detail = %reason, "unhealthy, but kept: another worker is being replaced or it is the last one serving");
            }
            Choice::Retire(reason) => {
                retire_unhealthy(entry, &id, &reason, now);
                asks.fill.push(app.clone());
            }
        }
    }
}

/// Reads a serving worker's loop and judges it; None while there is nothing to read.
fn sample(w: &mut WorkerEntry, policy: &Policy, origin: Instant, at: Duration) -> Option<Verdict> {
    let reading = w.probe.as_ref()?.read(at)?;
    if let (Some(sample), Some(endpoint)) = (w.history.push(reading), &w.endpoint) {
        endpoint.observe_elu(sample.elu);
    }
    let ready_at = w.ready_at.map_or(at, |r| r - origin);
    Some(health::verdict(&w.history, policy, ready_at, at))
}

/// Takes an unhealthy worker out of routing until its successor is Ready.
fn retire_unhealthy(entry: &mut AppEntry, id: &WorkerId, reason: &Reason, now: Instant) {
    let Some(w) = entry.workers.get_mut(&id.n()) else {
        return;
    };
    let stalled = matches!(reason, Reason::Stalled { .. });
    entry.restarts.unhealthy += 1;
    if stalled {
        entry.stalls += 1;
        // Requests queued behind the stall would wait for the successor and the
        // termination: those the worker never took go to another worker now.
        if let Some(endpoint) = &w.endpoint {
            let moved = endpoint.pipe.withdraw_untaken();
            if moved > 0 {
                tracing::info!(worker = %id, requests = moved, "requests the stuck worker never took moved to another worker");
            }
        }
    }
    tracing::warn!(worker = %id, reason = reason.kind(), detail = %reason, "worker unhealthy");
    w.lifecycle.retire(Retire::AwaitSuccessor {
        stalled,
        since: now,
    });
}
