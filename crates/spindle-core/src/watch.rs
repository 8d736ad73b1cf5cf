//! Dev mode's file watcher: polls each app's directory and asks for a rolling restart of
//! an app when its files change (debounced, so an editor's save-burst is one restart).
//!
//! Polling, not inotify: app trees are small once `node_modules` is skipped, it behaves
//! the same on every file system (bind mounts, network shares, containers), and it needs
//! no dependency. A changed file is seen within `POLL` and acted on `DEBOUNCE` after the
//! last change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use crate::supervisor::Event;

const POLL: Duration = Duration::from_millis(250);
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// A tree bigger than this is not watched past the limit: such a tree is almost surely
/// build output or dependencies that slipped through the skip list.
const MAX_FILES: usize = 20_000;

/// What a directory looks like: every watched file's modification time and size.
pub type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

/// Starts the watcher thread for `apps` (id, directory).
pub fn spawn(
    apps: Vec<(Arc<str>, PathBuf)>,
    events: mpsc::UnboundedSender<Event>,
) -> std::io::Result<()> {
    std::thread::Builder::new().name("spindle-watch".into()).spawn(move || {
        let mut state: Vec<Watched> =
            apps.into_iter().map(|(app, dir)| Watched { snapshot: scan(&dir), app, dir, pending: None }).collect();
        tracing::info!(apps = state.len(), "dev mode: watching app files for changes");
        loop {
            std::thread::sleep(POLL);
            let now = Instant::now();
            for w in &mut state {
                let snapshot = scan(&w.dir);
                if let Some(path) = first_change(&w.snapshot, &snapshot) {
                    w.pending = Some(Pending { last: now, path });
                    w.snapshot = snapshot;
                }
                if let Some(pending) = w.pending.take() {
                    if due(pending.last, now) {
                        tracing::info!(app = &*w.app, file = %pending.path.display(), "file changed: restarting the app");
                        if events.send(Event::Restart(Some(w.app.clone()))).is_err() {
                            return;
                        }
                    } else {
                        w.pending = Some(pending);
                    }
                }
            }
        }
    })?;
    Ok(())
}

struct Watched {
    app: Arc<str>,
    dir: PathBuf,
    snapshot: Snapshot,
    pending: Option<Pending>,
}

struct Pending {
    last: Instant,
    path: PathBuf,
}

/// Quiet for `DEBOUNCE` since the last change.
pub fn due(last_change: Instant, now: Instant) -> bool {
    now.duration_since(last_change) >= DEBOUNCE
}

/// The first path (in order) that was added, removed or modified, if any.
pub fn first_change(old: &Snapshot, new: &Snapshot) -> Option<PathBuf> {
    for (path, meta) in new {
        if old.get(path) != Some(meta) {
            return Some(path.clone());
        }
    }
    old.keys().find(|p| !new.contains_key(*p)).cloned()
}

/// Every file under `dir`, skipping dependencies and hidden entries.
pub fn scan(dir: &Path) -> Snapshot {
    let mut out = Snapshot::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if out.len() < MAX_FILES {
                out.insert(
                    entry.path(),
                    (
                        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                        meta.len(),
                    ),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(entries: &[(&str, u64, u64)]) -> Snapshot {
        entries
            .iter()
            .map(|(p, secs, len)| {
                (
                    PathBuf::from(p),
                    (SystemTime::UNIX_EPOCH + Duration::from_secs(*secs), *len),
                )
            })
            .collect()
    }

    #[test]
    fn finds_modified_added_and_removed_files() {
        let old = snap(&[("a.js", 1, 10), ("b.js", 1, 10)]);
        assert_eq!(first_change(&old, &old), None);
        assert_eq!(
            first_change(&old, &snap(&[("a.js", 2, 10), ("b.js", 1, 10)])),
            Some("a.js".into())
        );
        assert_eq!(
            first_change(&old, &snap(&[("a.js", 1, 10), ("b.js", 1, 11)])),
            Some("b.js".into())
        );
        assert_eq!(
            first_change(&old, &snap(&[("a.js", 1, 10)])),
            Some("b.js".into())
        );
        assert_eq!(
            first_change(
                &old,
                &snap(&[("a.js", 1, 10), ("b.js", 1, 10), ("c.js", 1, 1)])
            ),
            Some("c.js".into())
        );
    }

    #[test]
    fn waits_for_quiet_before_acting() {
        let t = Instant::now();
        assert!(!due(t, t));
        assert!(!due(t, t + DEBOUNCE - Duration::from_millis(1)));
        assert!(due(t, t + DEBOUNCE));
    }

    #[test]
    fn scan_skips_dependencies_and_hidden_entries() {
        let dir = std::env::temp_dir().join(format!("spindle-watch-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("node_modules/x")).unwrap();
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("index.js"), "1").unwrap();
        std::fs::write(dir.join("lib/a.js"), "22").unwrap();
        std::fs::write(dir.join("node_modules/x/i.js"), "").unwrap();
        std::fs::write(dir.join(".git/HEAD"), "").unwrap();
        std::fs::write(dir.join(".env"), "").unwrap();
        let files: Vec<PathBuf> = scan(&dir)
            .into_keys()
            .map(|p| p.strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            files,
            [PathBuf::from("index.js"), PathBuf::from("lib/a.js")]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
