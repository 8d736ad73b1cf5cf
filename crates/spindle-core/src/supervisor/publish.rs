//! What the rest of the process sees: ready workers for the data path, status for everyone.

use std::collections::HashMap;
use std::sync::Arc;

use crate::datapath::endpoint::Endpoint;
use crate::datapath::ready::{ReadyApp, ReadyWorkers};
use crate::status::{AppStatus, Heap, Status, WorkerStatus};
use crate::WorkerState;

use super::lifecycle::Lifecycle;
use super::Supervisor;

impl Supervisor {
    pub(super) fn all_apps_ready(&self) -> bool {
        self.apps.values().all(|a| {
            a.workers
                .values()
                .any(|w| w.lifecycle.state() == WorkerState::Ready)
        })
    }

    pub(super) fn announce_ready(&self) {
        let apps: Vec<&str> = self.apps.keys().map(|a| &**a).collect();
        tracing::info!(
            url = self.urls.ingress.as_str(),
            admin = self.urls.admin.as_deref(),
            apps = apps.join(","),
            "spindle ready"
        );
    }

    pub(super) fn publish(&self) {
        let mut routes = HashMap::new();
        let mut status = Status::new(self.phase, Vec::new());
        for (id, entry) in &self.apps {
            let ready: Vec<Arc<Endpoint>> = entry
                .workers
                .values()
                .filter(|w| w.lifecycle == Lifecycle::Serving)
                .filter_map(|w| w.endpoint.clone())
                .collect();
            routes.insert(
                id.clone(),
                ReadyApp {
                    ready,
                    failed: entry.failed.clone(),
                },
            );
            if let Some(route) = &entry.base_path {
                status.routes.insert(id.to_string(), route.clone());
            }
            let mut workers = Vec::new();
            for (n, w) in &entry.workers {
                let worker = format!("{id}:{n}");
                if let Some(probe) = &w.probe {
                    status
                        .figures
                        .insert(worker.clone(), probe.figures().clone());
                }
                let latest = w.history.latest();
                workers.push(WorkerStatus {
                    id: worker,
                    state: w.lifecycle.state(),
                    elu: latest.map(|s| s.elu),
                    heap: latest.and_then(|s| s.heap).map(|h| Heap {
                        used: h.used,
                        total: h.total,
                        limit: h.limit,
                    }),
                    in_flight: w.endpoint.as_ref().map_or(0, |e| e.in_flight() as u64),
                    uptime_ms: Some(w.started.elapsed().as_millis() as u64),
                });
            }
            status.apps.push(AppStatus {
                id: id.to_string(),
                entrypoint: entry.entrypoint,
                failed: entry.failed.clone(),
                workers_wanted: Some(entry.config.workers.get()),
                restarts: entry.restarts,
                scaled: entry.scaled,
                stalls: entry.stalls,
                workers,
            });
        }
        self.status.send_replace(Arc::new(status));
        let routes = ReadyWorkers::new(routes);
        // Only a real change is sent: it wakes every queued request to look again, which
        // on each 250 ms health tick would be work for nothing.
        if !self.routes.borrow().same_as(&routes) {
            self.routes.send_replace(Arc::new(routes));
            for entry in self.apps.values() {
                // Requests queued for this app look again at the new set of workers.
                entry.queue.wake_all();
            }
        }
    }
}
