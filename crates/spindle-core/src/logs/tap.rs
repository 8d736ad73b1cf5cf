//! Recent log lines kept in memory and a live feed of new ones, for `spindle logs` (the
//! management API). Always JSON, whatever the terminal gets.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

/// Lines kept for `spindle logs -n N` without `-f`.
pub const RECENT_LINES: usize = 2000;
/// A follower this many lines behind loses the oldest ones rather than slowing anyone.
const FEED_CAPACITY: usize = 4096;

/// One line as the management API serves it.
#[derive(Debug, Clone)]
pub struct TapLine {
    /// The app of a worker line; None for the coordinator's own lines.
    pub app: Option<Arc<str>>,
    /// The JSON line, without its newline.
    pub json: Arc<str>,
}

pub(crate) struct Tap {
    recent: Mutex<VecDeque<TapLine>>,
    feed: broadcast::Sender<TapLine>,
}

impl Default for Tap {
    fn default() -> Self {
        Tap {
            recent: Mutex::new(VecDeque::with_capacity(RECENT_LINES)),
            feed: broadcast::channel(FEED_CAPACITY).0,
        }
    }
}

impl Tap {
    pub(crate) fn push(&self, app: Option<&Arc<str>>, json: &str) {
        let line = TapLine {
            app: app.cloned(),
            json: json.trim_end_matches('\n').into(),
        };
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() == RECENT_LINES {
                recent.pop_front();
            }
            recent.push_back(line.clone());
        }
        // No receivers is the common case and not an error.
        let _ = self.feed.send(line);
    }

    /// The last `n` lines (of `app` when given), then a receiver of every later line.
    /// Subscribing before copying means no line falls between the two.
    pub(crate) fn subscribe(
        &self,
        app: Option<&str>,
        n: usize,
    ) -> (Vec<TapLine>, broadcast::Receiver<TapLine>) {
        let feed = self.feed.subscribe();
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let matching: Vec<TapLine> = recent
            .iter()
            .filter(|l| app.is_none_or(|a| l.app.as_deref() == Some(a)))
            .cloned()
            .collect();
        let skip = matching.len().saturating_sub(n);
        (matching.into_iter().skip(skip).collect(), feed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_recent_lines_per_app_and_feeds_new_ones() {
        let tap = Tap::default();
        let web: Arc<str> = "web".into();
        let api: Arc<str> = "api".into();
        for i in 0..5 {
            tap.push(Some(&web), &format!("{{\"n\":{i}}}\n"));
        }
        tap.push(Some(&api), "{\"api\":true}");
        tap.push(None, "{\"core\":true}");
        let (recent, mut feed) = tap.subscribe(Some("web"), 2);
        let lines: Vec<&str> = recent.iter().map(|l| &*l.json).collect();
        assert_eq!(lines, ["{\"n\":3}", "{\"n\":4}"]);
        let (all, _) = tap.subscribe(None, 100);
        assert_eq!(all.len(), 7);
        tap.push(Some(&web), "{\"n\":5}");
        assert_eq!(&*feed.try_recv().unwrap().json, "{\"n\":5}");
    }
}
