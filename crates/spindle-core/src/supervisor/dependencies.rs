//! Start order: an app waits until every worker of the apps it depends on is ready.

use std::sync::Arc;

use super::Supervisor;

impl Supervisor {
    /// Starts the waiting apps whose dependencies have all settled (an id no longer known,
    /// such as a removed app, holds nothing back).
    pub(super) fn start_unblocked(&mut self) {
        let unblocked: Vec<Arc<str>> = self
            .apps
            .iter()
            .filter(|(_, entry)| {
                entry.waiting
                    && entry
                        .config
                        .dependencies
                        .iter()
                        .all(|dep| self.apps.get(dep.as_str()).is_none_or(|d| d.settled))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for app in unblocked {
            if let Some(entry) = self.apps.get_mut(&app) {
                entry.waiting = false;
                tracing::info!(app = &*app, "its dependencies have started: starting");
            }
            self.fill(&app);
        }
    }

    /// Marks `app` settled (its first workers all ready, or it failed) and starts the apps
    /// that were waiting only for it.
    pub(super) fn settle(&mut self, app: &Arc<str>) {
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if entry.settled {
            return;
        }
        entry.settled = true;
        self.start_unblocked();
    }
}
