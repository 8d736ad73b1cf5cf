//! Taking workers out of routing and asking them to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Phase, WorkerId, WorkerState};

use super::table::Retire;
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
            if w.state == WorkerState::Starting {
                w.retire = Some(Retire::Stopping);
                stop_now.push(*n);
            } else {
                w.retire = Some(Retire::Draining {
                    deadline: Instant::now() + application_grace,
                });
            }
            w.state = WorkerState::Draining;
        }
        for n in stop_now {
            self.host
                .stop(&WorkerId::new(app.clone(), n), application_grace);
        }
    }

    pub(super) fn stop_all(&mut self, grace: Duration) {
        for entry in self.apps.values_mut() {
            entry.restart_queue.clear();
            entry.restart_step = None;
            for (n, worker) in entry.workers.iter_mut() {
                if worker.state.is_alive() && worker.retire != Some(Retire::Stopping) {
                    worker.state = WorkerState::Draining;
                    worker.retire = Some(Retire::Stopping);
                    self.host
                        .stop(&WorkerId::new(entry.config.id.as_str(), *n), grace);
                }
            }
        }
        if self
            .apps
            .values()
            .all(|a| a.workers.values().all(|w| !w.state.is_alive()))
        {
            self.phase = Phase::Stopped;
        }
    }
}
