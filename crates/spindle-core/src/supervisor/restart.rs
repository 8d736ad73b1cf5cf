//! Rolling restarts: each worker replaced by a successor that is Ready before it drains.

use std::sync::Arc;

use super::Supervisor;

impl Supervisor {
    pub(super) fn begin_restart(&mut self, app: &Arc<str>) {
        if !self.accepting() {
            return;
        }
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        entry.failed = None;
        entry.streak = 0;
        entry.failed_starts = 0;
        entry.restarting = true;
        // Standby workers loaded the code being replaced: new ones follow the restart.
        let standby: Vec<u32> = entry
            .workers
            .iter()
            .filter(|(_, w)| w.is_standby())
            .map(|(n, _)| *n)
            .collect();
        entry.restart_queue = entry
            .workers
            .iter()
            .filter(|(_, w)| w.is_serving_or_starting())
            .map(|(n, _)| *n)
            .collect();
        tracing::info!(
            app = &**app,
            workers = entry.restart_queue.len(),
            "restarting app"
        );
        let nothing_to_replace = entry.restart_queue.is_empty();
        self.retire(app, &standby);
        if nothing_to_replace {
            self.fill(app);
        }
        self.advance_restart(app);
    }

    /// Starts the successor of the next worker in the app's restart queue, if none is starting.
    pub(super) fn advance_restart(&mut self, app: &Arc<str>) {
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if entry.restart_step.is_some() || entry.failed.is_some() {
            return;
        }
        while let Some(old) = entry.restart_queue.pop_front() {
            if entry
                .workers
                .get(&old)
                .is_some_and(|w| w.is_serving_or_starting())
            {
                let successor = self.spawn(app, false);
                let entry = self.apps.get_mut(app).expect("known app");
                entry.restart_step = Some((old, successor));
                entry.restarts.restart += 1;
                return;
            }
        }
        if entry.restarting {
            entry.restarting = false;
            tracing::info!(app = &**app, "app restarted");
        }
    }
}
