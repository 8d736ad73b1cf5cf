//! Taking workers out of routing and asking them to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Phase, WorkerId, WorkerState};

use super::lifecycle::{Lifecycle, Retire};
use super::Supervisor;

impl Supervisor {
    /// Takes workers `ns` of `app` out of routing: a starting one is stopped at once, a
    /// serving one drains first (up to `gracefulShutdown.application`).
    pub(super) fn retire(&mut self, app: &Arc<str>, ns: &[u32]) {
        let application_grace = self.application_grace;
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        let mut stop_now = Vec::new();
        for n in ns {
            let Some(w) = entry.workers.get_mut(n) else {
                continue;
            };
            // A worker still loading has nothing to drain.
            if w.lifecycle.state() == WorkerState::Starting {
                w.lifecycle.retire(Retire::Stopping);
                stop_now.push(*n);
            } else {
                w.lifecycle.retire(Retire::Draining {
                    deadline: Instant::now() + application_grace,
                });
            }
        }
        for n in stop_now {
            self.host
                .stop(&WorkerId::new(app.clone(), n), application_grace);
        }
    }

    pub(super) fn stop_all(&mut self, grace: Duration) {
        for entry in self.apps.values_mut() {
            if let Some(plan) = &mut entry.restart {
                plan.clear();
            }
            for (n, worker) in entry.workers.iter_mut() {
                if worker.lifecycle != Lifecycle::Retiring(Retire::Stopping) {
                    worker.lifecycle.retire(Retire::Stopping);
                    self.host
                        .stop(&WorkerId::new(entry.config.id.as_str(), *n), grace);
                }
            }
        }
        if self.apps.values().all(|a| a.workers.is_empty()) {
            self.phase = Phase::Stopped;
        }
    }
}
