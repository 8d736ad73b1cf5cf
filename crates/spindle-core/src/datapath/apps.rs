//! The apps the data path can reach right now, by id. Read on every mesh call and
//! scrape, written only when an app is added or removed while the server runs.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::app::App;
use crate::metrics::http::HttpSnapshot;

#[derive(Clone, Default)]
pub struct Apps(Arc<RwLock<BTreeMap<String, Arc<App>>>>);

impl Apps {
    pub fn insert(&self, app: Arc<App>) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(app.id.to_string(), app);
    }

    pub fn remove(&self, id: &str) -> Option<Arc<App>> {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(id)
    }

    pub fn get(&self, id: &str) -> Option<Arc<App>> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn ids(&self) -> Vec<String> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Every app's counters, for a scrape.
    pub fn snapshots(&self) -> Vec<(String, HttpSnapshot)> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, app)| (id.clone(), app.metrics.snapshot()))
            .collect()
    }
}
