//! The worker table: what the supervisor knows about each app and each of its workers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use spindle_config::AppConfig;
use tokio::time::Instant;

use crate::datapath::endpoint::Endpoint;
use crate::datapath::queue::AppQueue;
use crate::health::{History, Policy};
use crate::probe::Probe;
use crate::status::{Restarts, ScalerDecisions};

use super::lifecycle::Lifecycle;
use super::restart::RestartPlan;

/// One app: its config, its workers and the counters its status shows.
pub(super) struct AppEntry {
    pub(super) config: AppConfig,
    pub(super) policy: Policy,
    pub(super) entrypoint: bool,
    /// The route prefix it is mounted under.
    pub(super) base_path: Option<String>,
    pub(super) queue: Arc<AppQueue>,
    pub(super) next_n: u32,
    /// Crashes in a row soon after start: sets the restart delay.
    pub(super) streak: u32,
    /// Workers in a row that crashed before becoming Ready: past `maxFailedStarts`, the
    /// app is marked failed.
    pub(super) failed_starts: u32,
    /// Why the app gave up restarting.
    pub(super) failed: Option<String>,
    /// A restart is scheduled and not yet started.
    pub(super) respawn_pending: bool,
    /// The rolling restart under way, if any.
    pub(super) restart: Option<RestartPlan>,
    /// Being removed: no new workers; forgotten once the last one has exited.
    pub(super) removing: bool,
    /// When the number of workers last changed (scaler, scale command), for the cooldown.
    pub(super) last_scaled: Option<Instant>,
    pub(super) restarts: Restarts,
    pub(super) scaled: ScalerDecisions,
    pub(super) stalls: u64,
    pub(super) workers: BTreeMap<u32, WorkerEntry>,
    /// Every worker it started with was ready once, or it failed: the apps that depend on
    /// it may start.
    pub(super) settled: bool,
    /// Not started yet: some of its `dependencies` have not settled.
    pub(super) waiting: bool,
}

impl AppEntry {
    pub(super) fn new(
        config: AppConfig,
        entrypoint: bool,
        base_path: Option<String>,
        queue: Arc<AppQueue>,
    ) -> AppEntry {
        let has_dependencies = !config.dependencies.is_empty();
        AppEntry {
            entrypoint,
            base_path,
            policy: policy(&config.health),
            config,
            queue,
            next_n: 0,
            streak: 0,
            failed_starts: 0,
            failed: None,
            respawn_pending: false,
            restart: None,
            removing: false,
            last_scaled: None,
            restarts: Restarts::default(),
            scaled: ScalerDecisions::default(),
            stalls: 0,
            workers: BTreeMap::new(),
            settled: false,
            waiting: has_dependencies,
        }
    }

    /// The numbers of its workers whose lifecycle passes `which`, oldest first.
    pub(super) fn workers_where(&self, which: impl Fn(Lifecycle) -> bool) -> Vec<u32> {
        self.workers
            .iter()
            .filter(|(_, w)| which(w.lifecycle))
            .map(|(n, _)| *n)
            .collect()
    }
}

/// One worker: where it is in its life, and what the supervisor holds for it.
pub(super) struct WorkerEntry {
    pub(super) lifecycle: Lifecycle,
    pub(super) started: Instant,
    pub(super) ready_at: Option<Instant>,
    pub(super) socket: PathBuf,
    pub(super) endpoint: Option<Arc<Endpoint>>,
    pub(super) probe: Option<Arc<Probe>>,
    pub(super) history: History,
}

pub fn policy(config: &spindle_config::HealthConfig) -> Policy {
    Policy {
        enabled: config.enabled,
        interval: config.interval,
        grace_period: config.grace_period,
        max_unhealthy_checks: config.max_unhealthy_checks,
        max_elu: config.max_elu,
        max_heap_used: config.max_heap_used,
        max_stall: config.max_stall,
    }
}
