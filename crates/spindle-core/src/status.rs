//! What the server is doing, as one immutable snapshot: published by the supervisor on
//! every change, read by probes, the management API and tests without touching workers.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

pub use spindle_api::{AppStatus, Heap, Restarts, ScalerDecisions, WorkerStatus};

use crate::metrics::WorkerFigures;
use crate::Phase;

/// Apps and workers are the management API's own types: what `/v1/status` shows is what
/// is held here. What only the core needs sits beside them, by id, and is not serialized.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub phase: Phase,
    pub apps: Vec<AppStatus>,
    /// By app id, the `server.routes` prefix the app is mounted under (the first, if
    /// several): the `route` label of its HTTP metrics.
    #[serde(skip)]
    pub routes: HashMap<String, String>,
    /// By worker id, what the worker publishes about itself (runtime figures, its app's
    /// metrics), once its thread has attached.
    #[serde(skip)]
    pub figures: HashMap<String, Arc<WorkerFigures>>,
}

impl Status {
    /// Apps and nothing beside them.
    pub fn new(phase: Phase, apps: Vec<AppStatus>) -> Status {
        Status {
            phase,
            apps,
            routes: HashMap::new(),
            figures: HashMap::new(),
        }
    }

    /// Why the server is not ready, or None when it is: every app has a Ready worker and
    /// the server is not shutting down.
    pub fn not_ready_reason(&self) -> Option<String> {
        match self.phase {
            Phase::ShuttingDown | Phase::Stopped => return Some("shutting down".into()),
            Phase::Starting | Phase::Running | Phase::Unknown => {}
        }
        if let Some(app) = self.apps.iter().find(|a| a.failed.is_some()) {
            return Some(format!(
                "app {} failed: {}",
                app.id,
                app.failed.as_deref().unwrap_or_default()
            ));
        }
        let waiting: Vec<&str> = self
            .apps
            .iter()
            .filter(|a| a.ready_workers() == 0)
            .map(|a| a.id.as_str())
            .collect();
        if waiting.is_empty() {
            None
        } else {
            Some(format!("no ready worker for app {}", waiting.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkerState;

    fn app(id: &str, states: &[WorkerState]) -> AppStatus {
        AppStatus {
            id: id.into(),
            entrypoint: false,
            failed: None,
            workers_wanted: Some(states.len() as u32),
            restarts: Restarts::default(),
            scaled: ScalerDecisions::default(),
            stalls: 0,
            workers: states
                .iter()
                .enumerate()
                .map(|(n, s)| WorkerStatus {
                    id: format!("{id}:{n}"),
                    state: *s,
                    elu: None,
                    heap: None,
                    in_flight: 0,
                    uptime_ms: Some(0),
                })
                .collect(),
        }
    }

    #[test]
    fn ready_when_every_app_has_a_ready_worker() {
        let status = Status::new(
            Phase::Running,
            vec![
                app("web", &[WorkerState::Ready, WorkerState::Crashed]),
                app("api", &[WorkerState::Starting, WorkerState::Ready]),
            ],
        );
        assert_eq!(status.not_ready_reason(), None);
    }

    #[test]
    fn names_the_apps_that_cannot_serve() {
        let status = Status::new(
            Phase::Running,
            vec![
                app("web", &[WorkerState::Ready]),
                app("api", &[WorkerState::Starting]),
            ],
        );
        assert_eq!(
            status.not_ready_reason().as_deref(),
            Some("no ready worker for app api")
        );
    }

    #[test]
    fn never_ready_while_shutting_down() {
        let status = Status::new(Phase::ShuttingDown, vec![app("web", &[WorkerState::Ready])]);
        assert_eq!(status.not_ready_reason().as_deref(), Some("shutting down"));
    }
}
