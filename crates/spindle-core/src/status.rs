//! What the server is doing, as one immutable snapshot: published by the supervisor on
//! every change, read by probes, the management API and tests without touching workers.

use std::sync::Arc;

use serde::Serialize;

use crate::metrics::WorkerFigures;
use crate::{Phase, WorkerState};

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub phase: Phase,
    pub apps: Vec<AppStatus>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub id: String,
    pub entrypoint: bool,
    /// Why the app gave up restarting its workers, if it did.
    pub failed: Option<String>,
    /// How many workers the app should run (config, or the last scale).
    pub workers_wanted: u32,
    /// Workers started to replace others, by why.
    pub restarts: Restarts,
    /// Scaler decisions, up and down.
    pub scaled: Scaled,
    /// Times a worker's event loop was found stuck.
    pub stalls: u64,
    /// The `server.routes` prefix the app is mounted under (the first, if several): the
    /// `route` label of its HTTP metrics.
    #[serde(skip)]
    pub route: Option<String>,
    pub workers: Vec<WorkerStatus>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Restarts {
    /// A worker crashed (exception, exit, out of memory, failed load).
    pub crash: u64,
    /// A worker was judged unhealthy (stuck loop, ELU, heap).
    pub unhealthy: u64,
    /// A rolling restart.
    pub restart: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Scaled {
    pub up: u64,
    pub down: u64,
}

impl Restarts {
    pub fn by_reason(&self) -> [(&'static str, u64); 3] {
        [
            ("crash", self.crash),
            ("unhealthy", self.unhealthy),
            ("restart", self.restart),
        ]
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatus {
    pub id: String,
    pub state: WorkerState,
    /// Event-loop utilization over the last sample interval (0–1), once sampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap: Option<HeapStatus>,
    /// Requests the ingress has sent it that are not finished.
    pub in_flight: u64,
    /// Since the thread was started.
    pub uptime_ms: u64,
    /// What the worker publishes about itself (runtime figures, its app's metrics), once
    /// its thread has attached.
    #[serde(skip)]
    pub figures: Option<Arc<WorkerFigures>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeapStatus {
    pub used: u64,
    pub total: u64,
    pub limit: u64,
}

impl AppStatus {
    pub fn ready_workers(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| w.state == WorkerState::Ready)
            .count()
    }
}

impl Status {
    /// Why the server is not ready, or None when it is: every app has a Ready worker and
    /// the server is not shutting down.
    pub fn not_ready_reason(&self) -> Option<String> {
        match self.phase {
            Phase::ShuttingDown | Phase::Stopped => return Some("shutting down".into()),
            Phase::Starting | Phase::Running => {}
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

    fn app(id: &str, states: &[WorkerState]) -> AppStatus {
        AppStatus {
            id: id.into(),
            entrypoint: false,
            failed: None,
            workers_wanted: states.len() as u32,
            restarts: Restarts::default(),
            scaled: Scaled::default(),
            stalls: 0,
            route: None,
            workers: states
                .iter()
                .enumerate()
                .map(|(n, s)| WorkerStatus {
                    id: format!("{id}:{n}"),
                    state: *s,
                    elu: None,
                    heap: None,
                    in_flight: 0,
                    uptime_ms: 0,
                    figures: None,
                })
                .collect(),
        }
    }

    #[test]
    fn ready_when_every_app_has_a_ready_worker() {
        let status = Status {
            phase: Phase::Running,
            apps: vec![
                app("web", &[WorkerState::Ready, WorkerState::Crashed]),
                app("api", &[WorkerState::Starting, WorkerState::Ready]),
            ],
        };
        assert_eq!(status.not_ready_reason(), None);
    }

    #[test]
    fn names_the_apps_that_cannot_serve() {
        let status = Status {
            phase: Phase::Running,
            apps: vec![
                app("web", &[WorkerState::Ready]),
                app("api", &[WorkerState::Starting]),
            ],
        };
        assert_eq!(
            status.not_ready_reason().as_deref(),
            Some("no ready worker for app api")
        );
    }

    #[test]
    fn never_ready_while_shutting_down() {
        let status = Status {
            phase: Phase::ShuttingDown,
            apps: vec![app("web", &[WorkerState::Ready])],
        };
        assert_eq!(status.not_ready_reason().as_deref(), Some("shutting down"));
    }
}
