//! The published view of who can serve: per app, its Ready workers.
//!
//! The supervisor owns the worker table and publishes a new `Routes` on every change;
//! request handlers read the latest one without locking the table.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::endpoint::Endpoint;
use crate::pick;

#[derive(Default)]
pub struct Routes {
    apps: HashMap<Arc<str>, Vec<Arc<Endpoint>>>,
}

static ROTATION: AtomicUsize = AtomicUsize::new(0);

impl Routes {
    pub fn new(apps: HashMap<Arc<str>, Vec<Arc<Endpoint>>>) -> Routes {
        Routes { apps }
    }

    /// A Ready worker of `app`, or None when it has none.
    pub fn pick(&self, app: &str) -> Option<Arc<Endpoint>> {
        let ready = self.apps.get(app)?;
        let start = ROTATION.fetch_add(1, Ordering::Relaxed);
        pick::least_in_flight(ready, start).cloned()
    }

    pub fn ready_count(&self, app: &str) -> usize {
        self.apps.get(app).map_or(0, Vec::len)
    }
}
