//! Reading the worker table from a status document (the admin `/status` or
//! `spindle ps --json`: both list `apps[].workers[]` with `id` and `state`).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::client::poll;
use crate::Running;

/// `(id, state)` of every worker of `app`, or None when the document has no such app.
pub fn workers_of(status: &Value, app: &str) -> Option<Vec<(String, String)>> {
    let entry = status["apps"].as_array()?.iter().find(|a| a["id"] == app)?;
    let workers = entry["workers"].as_array().cloned().unwrap_or_default();
    Some(
        workers
            .iter()
            .map(|w| {
                let field = |k: &str| w[k].as_str().unwrap_or("?").to_string();
                (field("id"), field("state"))
            })
            .collect(),
    )
}

/// Where a test reads the worker table from.
#[derive(Clone, Copy, Debug)]
pub enum StatusSource {
    /// The admin server's `/status`.
    Admin,
    /// `spindle ps --json`, through the management API.
    Ps,
}

impl StatusSource {
    async fn fetch(self, server: &Running) -> Value {
        match self {
            StatusSource::Admin => server.admin_json("/status").await,
            StatusSource::Ps => server.cli(&["ps", "--json"]).await.assert_ok().json(),
        }
    }
}

impl fmt::Display for StatusSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StatusSource::Admin => "/status",
            StatusSource::Ps => "ps --json",
        })
    }
}

/// Polls `source` until `app` lists exactly `n` serving workers (standbys aside), all
/// ready, none of them in `old`; returns their ids. Fails the test with the last listing
/// otherwise.
pub async fn wait_ready_workers(
    server: &Running,
    source: StatusSource,
    app: &str,
    n: usize,
    old: &BTreeSet<String>,
    timeout: Duration,
) -> BTreeSet<String> {
    let last = Mutex::new(Vec::new());
    let settled = poll(timeout, || async {
        let status = source.fetch(server).await;
        let Some(workers) = workers_of(&status, app) else {
            server.fail(&format!("{source} has no app {app:?}: {status}"));
        };
        // Standby workers serve nothing: not counted (an app keeps one by default once it
        // has failed).
        let serving: Vec<_> = workers
            .iter()
            .filter(|(_, state)| state != "standby")
            .cloned()
            .collect();
        let good = serving.len() == n
            && serving
                .iter()
                .all(|(id, state)| state == "ready" && !old.contains(id));
        *last.lock().unwrap() = workers.clone();
        good.then(|| serving.into_iter().map(|(id, _)| id).collect())
    })
    .await;
    settled.unwrap_or_else(|| {
        server.fail(&format!(
            "{source} never listed exactly {n} ready workers of {app} outside {old:?} within \
             {timeout:?}; last: {:?}",
            last.lock().unwrap()
        ))
    })
}

/// Log lines that say a worker left the rotation for good.
pub const LEAVING: [&str; 4] = [
    "worker exited",
    "worker crashed",
    "worker unhealthy",
    "worker failed to start",
];

/// Waits until `app` has at least `n` workers that logged "worker ready" and have not left
/// since (see [`LEAVING`]), not counting the ids in `gone`; returns them. Fails at once
/// when the app is marked failed instead.
pub async fn wait_live(
    server: &Running,
    app: &str,
    n: usize,
    gone: &BTreeSet<String>,
    timeout: Duration,
) -> BTreeSet<String> {
    let mut ready = BTreeSet::new();
    let mut left = BTreeSet::new();
    let mut app_failed = None;
    server
        .wait_log(
            |line| {
                if line.is_msg("app failed") && line.str("app") == Some(app) {
                    app_failed = Some(line.text.clone());
                    return true;
                }
                if line.is_app(app) {
                    if let Some(worker) = line.str("worker") {
                        if line.is_serving_start() {
                            ready.insert(worker.to_string());
                        } else if LEAVING.iter().any(|msg| line.is_msg(msg)) {
                            left.insert(worker.to_string());
                        }
                    }
                }
                ready
                    .iter()
                    .filter(|w| !left.contains(*w) && !gone.contains(*w))
                    .count()
                    >= n
            },
            timeout,
        )
        .await;
    if let Some(line) = app_failed {
        server.fail(&format!(
            "app {app} was marked failed while waiting for {n} live workers (besides {gone:?}): {line}"
        ));
    }
    ready
        .into_iter()
        .filter(|w| !left.contains(w) && !gone.contains(w))
        .collect()
}
