//! Who may take the next request: per-app wake-ups for requests waiting in the queue.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Shared by an app's endpoints (which signal when a request finishes) and the ingress
/// (whose queued requests wait for that signal).
#[derive(Default)]
pub struct Capacity {
    notify: Notify,
    waiting: AtomicUsize,
    /// Where the search for the least busy worker starts, so equally idle workers take
    /// turns. Per app: a shared counter would let one app's traffic pattern decide
    /// another's (a call to app B after every request of A always landed on the same A
    /// worker).
    rotation: AtomicUsize,
}

impl Capacity {
    /// A worker finished a request: wake the longest-waiting request, if any.
    pub fn released(&self) {
        // Skip the lock inside Notify on the hot path when nobody waits.
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.notify.notify_one();
        }
    }

    /// Marks the caller as waiting until the guard drops.
    pub fn wait(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(self)
    }

    /// Requests queued for a worker right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub fn next_start(&self) -> usize {
        self.rotation.fetch_add(1, Ordering::Relaxed)
    }

    pub fn notify(&self) -> &Notify {
        &self.notify
    }
}

pub struct Waiting<'a>(&'a Capacity);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Capacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capacity")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}
