//! A worker is ready: it serves (or waits as a standby), and the one it replaces leaves.

use std::sync::Arc;

use tokio::time::Instant;

use crate::datapath::endpoint::Endpoint;
use crate::datapath::pipe::Pipe;
use crate::{Phase, WorkerId, WorkerState};

use super::lifecycle::{Lifecycle, Retire};
use super::Supervisor;

impl Supervisor {
    pub(super) fn on_ready(&mut self, id: WorkerId, pipe: Arc<Pipe>) {
        let Some(entry) = self.apps.get_mut(id.app()) else {
            return;
        };
        let queue = entry.queue.clone();
        let Some(worker) = entry.workers.get_mut(&id.n()) else {
            return;
        };
        let Some(standby) = worker.lifecycle.loaded() else {
            return;
        };
        let now = Instant::now();
        entry.failed_starts = 0;
        worker.endpoint = Some(Endpoint::new(pipe, queue));
        worker.ready_at = Some(now);
        let startup = worker.started.elapsed();
        let app = id.app_arc().clone();
        if standby {
            tracing::info!(worker = %id, startup_ms = startup.as_millis() as u64, "standby worker ready");
            // The app may have lost a worker while this one was loading.
            self.promote_standby(&app);
            return;
        }
        self.successor_ready(&app, id.n());

        if self.phase == Phase::Starting && self.all_apps_ready() {
            self.phase = Phase::Running;
        }
        // Routable before anyone reads the log line that says so.
        self.publish();
        tracing::info!(worker = %id, startup_ms = startup.as_millis() as u64, "worker ready");
        if self.phase == Phase::Running && !self.announced {
            self.announced = true;
            self.announce_ready();
        }
        self.advance_restart(&app);
        self.top_up_standby(&app);
        let all_up = self.apps.get(&app).is_some_and(|e| {
            e.workers
                .values()
                .filter(|w| w.lifecycle.state() == WorkerState::Ready)
                .count()
                >= e.config.workers.get() as usize
        });
        if all_up {
            self.settle(&app);
        }
    }

    /// Worker `n` of `app` has just begun to serve: the worker it replaces leaves routing,
    /// either the old one of a rolling-restart step or the oldest awaiting a successor.
    pub(super) fn successor_ready(&mut self, app: &Arc<str>, n: u32) {
        let deadline = Instant::now() + self.application_grace;
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if let Some(old) = entry.restart.as_mut().and_then(|p| p.successor_ready(n)) {
            if let Some(w) = entry.workers.get_mut(&old) {
                if !w.lifecycle.is_retiring() {
                    w.lifecycle.retire(Retire::Draining { deadline });
                }
            }
            return;
        }
        if let Some((&old, w)) = entry
            .workers
            .iter_mut()
            .filter(|(_, w)| {
                matches!(
                    w.lifecycle,
                    Lifecycle::Retiring(Retire::AwaitSuccessor { .. })
                )
            })
            .min_by_key(|(_, w)| w.started)
        {
            if let Lifecycle::Retiring(Retire::AwaitSuccessor { stalled: true, .. }) = w.lifecycle {
                // A stuck loop cannot finish anything: end it now; its requests are retried.
                w.lifecycle.retire(Retire::Stopping);
                let stuck = WorkerId::new(app.clone(), old);
                let successor = WorkerId::new(app.clone(), n);
                tracing::info!(worker = %stuck, successor = %successor, "terminating the stuck worker: its successor is ready");
                self.host.terminate(&stuck);
            } else {
                w.lifecycle.retire(Retire::Draining { deadline });
            }
        }
    }
}
