//! Starting worker threads: one at a time, or as many as an app is short of.

use std::sync::Arc;

use tokio::time::Instant;

use crate::health::History;
use crate::host::{ResourceLimits, Serve, WorkerSpec};
use crate::WorkerId;

use super::lifecycle::Lifecycle;
use super::table::WorkerEntry;
use super::Supervisor;

impl Supervisor {
    pub(super) fn spawn(&mut self, app: &Arc<str>, standby: bool) -> u32 {
        let entry = self.apps.get_mut(app).expect("spawn for a known app");
        let n = entry.next_n;
        entry.next_n += 1;
        let id = WorkerId::new(app.clone(), n);
        let socket = self.rundir.join(format!("w-{app}-{n}.sock"));
        let health = &entry.config.health;
        let spec = WorkerSpec {
            id: id.clone(),
            app: app.to_string(),
            index: n,
            entrypoint: entry.entrypoint,
            base_path: entry.base_path.clone(),
            log_level: self.log_level.to_owned(),
            dir: entry.config.path.clone(),
            entry: entry.config.entry.clone(),
            serve: Serve::of(&entry.config.kind),
            socket: socket.clone(),
            mesh_socket: crate::mesh::socket_path(&self.rundir, app),
            env: entry.config.env.clone(),
            resource_limits: ResourceLimits::from_bytes(
                health.max_heap_total,
                health.max_young_generation,
            ),
            sample_interval_ms: health.sample_interval.as_millis() as u64,
            runtime_metrics_interval_ms: crate::metrics::published::RUNTIME_INTERVAL.as_millis()
                as u64,
            app_metrics_interval_ms: crate::metrics::published::APP_INTERVAL.as_millis() as u64,
            exit_on_unhandled_errors: entry.config.faults.exit_on_unhandled_errors,
            exec_argv: entry.config.exec_argv.clone(),
            argv: entry.config.arguments.clone(),
            start_timeout_ms: u64::try_from(entry.config.start_timeout.as_millis())
                .unwrap_or(u64::MAX),
        };
        entry.workers.insert(
            n,
            WorkerEntry {
                lifecycle: Lifecycle::Starting { standby },
                started: Instant::now(),
                ready_at: None,
                socket,
                endpoint: None,
                probe: None,
                history: History::new(),
            },
        );
        let log = Arc::new(self.logs.worker(app, &id.to_string()));
        crate::sync::lock(&self.worker_logs).insert(id.clone(), log);
        tracing::debug!(worker = %id, entry = %spec.entry.display(), standby, "starting worker");
        self.host.spawn(&spec);
        n
    }

    /// Brings `app` to as many serving or starting workers as configured, standby ones
    /// first, then tops up its standby workers.
    pub(super) fn fill(&mut self, app: &Arc<str>) {
        if self.apps.get(app).is_some_and(|e| e.waiting) {
            return;
        }
        let missing = self.promote_standby(app);
        for _ in 0..missing {
            self.spawn(app, false);
        }
        self.top_up_standby(app);
    }
}
