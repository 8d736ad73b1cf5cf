//! The health tick: samples every serving worker, judges it, and moves retiring ones along.

use tokio::time::Instant;

use crate::health::{self, Verdict};
use crate::{WorkerId, WorkerState};

use super::lifecycle::{Lifecycle, Retire};
use super::scaling::SCALER_EVERY;
use super::Supervisor;

/// A stuck worker waits for its successor at most this many `maxStall`s before it is
/// terminated anyway: a spinning thread also slows the successor's start.
const STALLED_WAIT_FACTOR: u32 = 3;

impl Supervisor {
    /// Samples every serving worker's loop, judges its health, and moves retiring workers along.
    pub(super) fn tick(&mut self) {
        let now = Instant::now();
        let at = now - self.origin;
        let application_grace = self.application_grace;
        let mut to_fill = Vec::new();
        let mut to_stop = Vec::new();
        let mut to_terminate = Vec::new();
        for (app, entry) in self.apps.iter_mut() {
            // ELU and heap verdicts retire at most one worker of an app at a time, and
            // never its last serving one: when every worker is busy because the app is
            // saturated, replacing them all would only remove capacity.
            let mut serving = entry
                .workers
                .values()
                .filter(|w| w.lifecycle.state() == WorkerState::Ready)
                .count();
            let mut retiring = entry.workers.values().any(|w| w.lifecycle.is_retiring());
            // Every serving worker busy is load, not a fault: a replacement would be just
            // as busy, and starting it costs the capacity and the tail latency the app is
            // short of (measured: a saturated 2-worker app lost a worker to ELU every few
            // seconds, and p99 tripled). So ELU replaces only a worker over maxElu while
            // a sibling has room (below the data path's saturation mark); the scaler, not
            // replacement, answers load.
            let app_saturated = entry
                .workers
                .values()
                .filter(|w| w.lifecycle.state() == WorkerState::Ready)
                .all(|w| {
                    w.history
                        .latest()
                        .is_some_and(|s| s.elu >= crate::datapath::endpoint::SATURATED_BELOW)
                });
            for (n, w) in entry.workers.iter_mut() {
                let id = || WorkerId::new(app.clone(), *n);
                match w.lifecycle {
                    Lifecycle::Serving => {
                        let Some(probe) = &w.probe else { continue };
                        let Some(reading) = probe.read(at) else {
                            continue;
                        };
                        if let (Some(sample), Some(endpoint)) =
                            (w.history.push(reading), &w.endpoint)
                        {
                            endpoint.observe_elu(sample.elu);
                        }
                        let ready_at = w.ready_at.map_or(at, |r| r - self.origin);
                        if let Verdict::Unhealthy(reason) =
                            health::verdict(&w.history, &entry.policy, ready_at, at)
                        {
                            let stalled = reason.kind() == "stalled";
                            if reason.kind() == "elu" && app_saturated {
                                tracing::debug!(worker = %id(), detail = %reason, "busy, but so is every worker of the app: load, not a fault; kept");
                                continue;
                            }
                            if !stalled && (retiring || serving <= 1) {
                                tracing::debug!(worker = %id(), detail = %reason, "unhealthy, but kept: another worker is being replaced or it is the last one serving");
                                continue;
                            }
                            serving = serving.saturating_sub(1);
                            retiring = true;
                            entry.restarts.unhealthy += 1;
                            if stalled {
                                entry.stalls += 1;
                                // Requests queued behind the stall would wait for the
                                // successor and the termination: those the worker never
                                // took go to another worker now.
                                if let Some(endpoint) = &w.endpoint {
                                    let moved = endpoint.pipe.withdraw_untaken();
                                    if moved > 0 {
                                        tracing::info!(worker = %id(), requests = moved, "requests the stuck worker never took moved to another worker");
                                    }
                                }
                            }
                            tracing::warn!(worker = %id(), reason = reason.kind(), detail = %reason, "worker unhealthy");
                            w.lifecycle.retire(Retire::AwaitSuccessor {
                                stalled,
                                since: now,
                            });
                            to_fill.push(app.clone());
                        }
                    }
                    Lifecycle::Retiring(Retire::AwaitSuccessor {
                        stalled: true,
                        since,
                    }) if now - since >= entry.policy.max_stall * STALLED_WAIT_FACTOR => {
                        tracing::warn!(worker = %id(), "terminating the stuck worker before its successor is ready");
                        w.lifecycle.retire(Retire::Stopping);
                        to_terminate.push(id());
                    }
                    Lifecycle::Retiring(Retire::Draining { deadline }) => {
                        let idle = w.endpoint.as_ref().is_none_or(|e| e.in_flight() == 0);
                        if idle || now >= deadline {
                            w.lifecycle.retire(Retire::Stopping);
                            to_stop.push(id());
                        }
                    }
                    _ => {}
                }
            }
        }
        for id in to_terminate {
            self.host.terminate(&id);
        }
        for id in to_stop {
            self.host.stop(&id, application_grace);
        }
        for app in to_fill {
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
