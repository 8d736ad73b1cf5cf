//! Apps joining and leaving a running server.

use std::sync::Arc;

use spindle_config::AppConfig;

use crate::datapath::queue::AppQueue;

use super::table::AppEntry;
use super::Supervisor;

impl Supervisor {
    pub(super) fn add_app(
        &mut self,
        config: AppConfig,
        queue: Arc<AppQueue>,
        base_path: Option<String>,
    ) {
        if !self.accepting() {
            return;
        }
        let id: Arc<str> = config.id.as_str().into();
        if self.apps.contains_key(&id) {
            tracing::warn!(app = &*id, "app already present; add ignored");
            return;
        }
        tracing::info!(app = &*id, workers = config.workers.get(), path = %config.path.display(), "app added");
        let entry = AppEntry::new(config, false, base_path, queue);
        self.apps.insert(id.clone(), entry);
        self.fill(&id);
        self.start_unblocked();
    }

    pub(super) fn remove_app(&mut self, app: &Arc<str>) {
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if entry.entrypoint {
            return;
        }
        tracing::info!(app = &**app, "removing app: draining its workers");
        entry.removing = true;
        if let Some(plan) = &mut entry.restart {
            plan.clear();
        }
        let serving = entry.workers_where(|life| !life.is_retiring());
        self.retire(app, &serving);
        self.forget_if_removed(app);
    }

    /// A removed app whose last worker is gone leaves the table.
    pub(super) fn forget_if_removed(&mut self, app: &str) {
        if self
            .apps
            .get(app)
            .is_some_and(|e| e.removing && e.workers.is_empty())
        {
            self.apps.remove(app);
            self.mesh_listeners.close(&self.rundir, app);
            tracing::info!(app, "app removed");
            self.start_unblocked();
        }
    }
}
