//! A worker leaving: unasked (a crash, to be restarted) or after being asked to stop.

use std::time::Duration;

use crate::{backoff, Phase, WorkerId};

use super::lifecycle::End;
use super::{Event, Supervisor};

impl Supervisor {
    /// A worker leaving unasked stops getting requests now, and a standby takes its place;
    /// the rest (logs, restart) waits for its exit.
    pub(super) fn on_exiting(&mut self, id: WorkerId) {
        let Some(worker) = self.worker_mut(&id) else {
            return;
        };
        if !worker.lifecycle.exit_unasked() {
            return;
        }
        tracing::debug!(worker = %id, "worker exiting unasked: out of routing");
        self.promote_standby(id.app_arc());
    }

    pub(super) fn on_exited(&mut self, id: WorkerId, code: i32, error: Option<String>) {
        let accepting = self.accepting();
        let Some(entry) = self.apps.get_mut(id.app()) else {
            return;
        };
        // Forgotten at once, keeping the table small across many restarts.
        let Some(worker) = entry.workers.remove(&id.n()) else {
            return;
        };
        let log = crate::sync::lock(&self.worker_logs).remove(&id);
        if let Some(log) = &log {
            log.finish();
        }
        let _ = std::fs::remove_file(&worker.socket);
        if let Some(endpoint) = &worker.endpoint {
            // Already done when the worker's environment was torn down; a worker that
            // never got that far fails its requests here.
            endpoint.pipe.detach();
        }
        let mut respawn = None;
        let mut promote = false;
        let mut app_failed = false;
        if let End::Crashed { starting, standby } = worker.lifecycle.end() {
            let lived = worker.started.elapsed();
            let last_lines = log.map(|l| l.tail()).unwrap_or_default();
            let last_lines = last_lines[last_lines.len().saturating_sub(10)..].join("\n");
            let reason = error.as_deref().unwrap_or("exited");
            if starting {
                tracing::error!(worker = %id, app = id.app(), entry = %entry.config.entry.display(), code, error = reason, last_lines, "worker failed to start");
            } else {
                tracing::error!(worker = %id, code, error = reason, lived_ms = lived.as_millis() as u64, last_lines, "worker crashed");
            }
            if let Some(plan) = &mut entry.restart {
                plan.successor_failed(id.n());
            }
            if starting {
                entry.failed_starts += 1;
            }
            promote = !standby;
            if accepting {
                let served = worker.ready_at.map_or(Duration::ZERO, |at| at.elapsed());
                let (delay, streak) = backoff::after_crash(entry.streak, served);
                entry.streak = streak;
                if entry.failed_starts >= entry.config.faults.max_failed_starts {
                    let why = format!(
                        "{} workers in a row failed to start; last error: {}",
                        entry.failed_starts,
                        first_line(reason)
                    );
                    tracing::error!(app = id.app(), reason = why.as_str(), "app failed");
                    entry.failed = Some(why);
                    app_failed = true;
                } else if !entry.respawn_pending {
                    entry.respawn_pending = true;
                    entry.restarts.crash += 1;
                    respawn = Some(delay);
                }
            }
        } else {
            tracing::info!(worker = %id, code, "worker exited");
        }
        let removed_app = entry.removing && entry.workers.is_empty();
        if promote {
            // A loaded standby takes the place now; the respawn below (after the crash
            // loop's delay, if any) starts the next standby.
            self.promote_standby(id.app_arc());
        }
        if let Some(delay) = respawn {
            let app = id.app_arc().clone();
            if delay.is_zero() {
                let _ = self.events.send(Event::Respawn(app));
            } else {
                tracing::warn!(
                    app = id.app(),
                    delay_ms = delay.as_millis() as u64,
                    "restarting after a delay: the app keeps crashing soon after start"
                );
                let events = self.events.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = events.send(Event::Respawn(app));
                });
            }
        }
        if removed_app {
            self.forget_if_removed(id.app());
        }
        if app_failed {
            // Its dependents start all the same: waiting for it would never end, and their
            // own calls to it get its errors, which say why.
            self.settle(id.app_arc());
        }
        if self.phase == Phase::ShuttingDown && self.apps.values().all(|a| a.workers.is_empty()) {
            self.phase = Phase::Stopped;
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
