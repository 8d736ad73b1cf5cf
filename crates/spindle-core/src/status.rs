//! What the server is doing, as one immutable snapshot: published by the supervisor on
//! every change, read by probes, the management API and tests without touching workers.

use serde::Serialize;

use crate::{Phase, WorkerState};

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub phase: Phase,
    pub apps: Vec<AppStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppStatus {
    pub id: String,
    pub entrypoint: bool,
    /// Why the app gave up restarting its workers, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    pub workers: Vec<WorkerStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub id: String,
    pub state: WorkerState,
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
            workers: states
                .iter()
                .enumerate()
                .map(|(n, s)| WorkerStatus {
                    id: format!("{id}:{n}"),
                    state: *s,
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
