//! Changing how many workers an app runs: by command, or as the scaler decides.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::{scaler, Phase, WorkerState};

use super::lifecycle::Lifecycle;
use super::Supervisor;

/// Scaling decisions are taken once a second (every 4th health tick at the default 250 ms).
pub(super) const SCALER_EVERY: u64 = 4;
/// ELU that a scaling decision looks at: the mean over the last second of each Ready worker.
const SCALER_WINDOW: Duration = Duration::from_secs(1);

impl Supervisor {
    pub(super) fn scale(&mut self, app: &Arc<str>, workers: NonZeroU32) {
        if !self.accepting() {
            return;
        }
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        let before = entry.config.workers;
        entry.config.workers = workers;
        entry.last_scaled = Some(Instant::now());
        tracing::info!(
            app = &**app,
            from = before.get(),
            to = workers.get(),
            "scaling app"
        );
        let current = entry.workers_where(Lifecycle::is_serving_or_starting);
        let extra = current.len().saturating_sub(workers.get() as usize);
        // The newest go first: starting ones have nothing to drain, and the oldest have
        // proven themselves.
        let newest: Vec<u32> = current.iter().rev().take(extra).copied().collect();
        self.retire(app, &newest);
        self.fill(app);
    }

    /// Asks the scaler what each dynamic app should run, and applies it.
    pub(super) fn autoscale(&mut self, now: Instant) {
        let Some(settings) = &self.scaler else { return };
        if self.phase != Phase::Running {
            return;
        }
        let views: Vec<scaler::AppView> = self
            .apps
            .values()
            .map(|entry| {
                let s = &entry.config.scaling;
                let (min, max) = if s.dynamic {
                    (s.min.get(), s.max.get())
                } else {
                    (entry.config.workers.get(), entry.config.workers.get())
                };
                let elus: Vec<f64> = entry
                    .workers
                    .values()
                    .filter(|w| w.lifecycle.state() == WorkerState::Ready)
                    .filter_map(|w| w.history.elu_over(SCALER_WINDOW))
                    .collect();
                scaler::AppView {
                    id: entry.config.id.clone(),
                    limits: scaler::AppLimits { min, max },
                    workers: entry.config.workers.get(),
                    elu: (!elus.is_empty()).then(|| elus.iter().sum::<f64>() / elus.len() as f64),
                    last_change: entry.last_scaled.map(|t| t - self.origin),
                }
            })
            .collect();
        let decisions = scaler::decide(&views, settings, Duration::ZERO, now - self.origin);
        for scaler::Decision::Scale {
            app,
            from,
            to,
            reason,
        } in decisions
        {
            let Some(workers) = NonZeroU32::new(to) else {
                continue;
            };
            tracing::info!(app = app.as_str(), from, to, reason = reason.kind(), detail = %reason, "scaler decision");
            let key: Arc<str> = app.as_str().into();
            if let Some(entry) = self.apps.get_mut(&key) {
                if to > from {
                    entry.scaled.up += 1;
                } else {
                    entry.scaled.down += 1;
                }
            }
            self.scale(&key, workers);
        }
    }
}
