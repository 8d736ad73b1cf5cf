//! Standby workers: loaded but unrouted, promoted when the app is short of one.

use std::sync::Arc;

use tokio::time::Instant;

use crate::WorkerId;

use super::lifecycle::Lifecycle;
use super::Supervisor;

impl Supervisor {
    /// Puts standby workers in the places `app` is short of, loaded ones first; returns
    /// how many places are still missing.
    pub(super) fn promote_standby(&mut self, app: &Arc<str>) -> usize {
        let accepting = self.accepting();
        let Some(entry) = self.apps.get_mut(app) else {
            return 0;
        };
        if entry.failed.is_some() || entry.removing || !accepting {
            return 0;
        }
        let current = entry
            .workers
            .values()
            .filter(|w| w.lifecycle.is_serving_or_starting())
            .count();
        let mut missing = (entry.config.workers.get() as usize).saturating_sub(current);
        let mut serving_now = Vec::new();
        while missing > 0 {
            let Some((&n, w)) = entry
                .workers
                .iter_mut()
                .filter(|(_, w)| w.lifecycle.is_standby())
                .min_by_key(|(_, w)| (w.lifecycle != Lifecycle::Standby, w.started))
            else {
                break;
            };
            missing -= 1;
            let id = WorkerId::new(app.clone(), n);
            if w.lifecycle.promote() == Some(true) {
                // Health's grace period counts from the first request it may get.
                w.ready_at = Some(Instant::now());
                tracing::info!(worker = %id, "standby worker promoted: serving from now on");
                serving_now.push(n);
            } else {
                tracing::info!(worker = %id, "standby worker promoted while still starting: it serves once ready");
            }
        }
        for n in serving_now {
            self.successor_ready(app, n);
        }
        missing
    }

    /// Starts standby workers up to `standbyWorkers`, once none of the serving ones is
    /// starting: a standby loading alongside them would only slow them down.
    pub(super) fn top_up_standby(&mut self, app: &Arc<str>) {
        if !self.accepting() {
            return;
        }
        let Some(entry) = self.apps.get(app) else {
            return;
        };
        if entry.failed.is_some() || entry.removing || entry.respawn_pending {
            return;
        }
        let faults = &entry.config.faults;
        // Unset `standbyWorkers`: an app that has failed once is likely to again, and its
        // next replacement should not be a cold start.
        let earned =
            faults.standby_after_failure && entry.restarts.crash + entry.restarts.unhealthy > 0;
        let wanted = (faults.standby_workers as usize).max(usize::from(earned));
        if wanted == 0
            || entry
                .workers
                .values()
                .any(|w| w.lifecycle == Lifecycle::Starting { standby: false })
        {
            return;
        }
        let current = entry
            .workers
            .values()
            .filter(|w| w.lifecycle.is_standby())
            .count();
        for _ in current..wanted {
            self.spawn(app, true);
        }
    }
}
