//! Rolling restarts: each worker replaced by a successor that is Ready before it drains.

use std::collections::VecDeque;
use std::sync::Arc;

use super::lifecycle::Lifecycle;
use super::Supervisor;

/// One app's rolling restart: the workers still to replace, one at a time so that the
/// app never serves with fewer workers than it has.
#[derive(Debug, Default)]
pub(super) struct RestartPlan {
    /// Workers still to replace, in order.
    queue: VecDeque<u32>,
    /// The worker being replaced, and its successor (starting).
    step: Option<Step>,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    old: u32,
    successor: u32,
}

impl RestartPlan {
    /// Worker `n` is Ready: if it is the successor now starting, returns the worker it
    /// replaces, which may drain now.
    pub(super) fn successor_ready(&mut self, n: u32) -> Option<u32> {
        let step = self.step.filter(|s| s.successor == n)?;
        self.step = None;
        Some(step.old)
    }

    /// Worker `n` crashed: if it was the successor now starting, the old worker keeps
    /// serving and its replacement is tried again after the restart delay.
    pub(super) fn successor_failed(&mut self, n: u32) {
        if let Some(step) = self.step.filter(|s| s.successor == n) {
            self.step = None;
            self.queue.push_front(step.old);
        }
    }

    /// Nothing more to replace: the app is being removed or the server stops. The plan
    /// itself stays, so that the restart is still reported as finished.
    pub(super) fn clear(&mut self) {
        self.queue.clear();
        self.step = None;
    }
}

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
        // Standby workers loaded the code being replaced: new ones follow the restart.
        let standby = entry.workers_where(Lifecycle::is_standby);
        let queue = entry.workers_where(Lifecycle::is_serving_or_starting);
        let plan = entry.restart.get_or_insert_with(RestartPlan::default);
        plan.queue = queue.into();
        tracing::info!(app = &**app, workers = plan.queue.len(), "restarting app");
        let nothing_to_replace = plan.queue.is_empty();
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
        if entry.failed.is_some() {
            return;
        }
        let Some(plan) = &mut entry.restart else {
            return;
        };
        if plan.step.is_some() {
            return;
        }
        let next = std::iter::from_fn(|| plan.queue.pop_front()).find(|old| {
            entry
                .workers
                .get(old)
                .is_some_and(|w| w.lifecycle.is_serving_or_starting())
        });
        let Some(old) = next else {
            entry.restart = None;
            tracing::info!(app = &**app, "app restarted");
            return;
        };
        let successor = self.spawn(app, false);
        let entry = self.apps.get_mut(app).expect("known app");
        if let Some(plan) = &mut entry.restart {
            plan.step = Some(Step { old, successor });
        }
        entry.restarts.restart += 1;
    }
}
