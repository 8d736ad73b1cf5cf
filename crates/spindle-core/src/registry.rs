//! The apps the data path can reach right now, by id: their proxies (worker choice,
//! queue, retries) and their request counters. Read on every mesh call and scrape,
//! written only when an app is added or removed while the server runs.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::ingress::Proxy;
use crate::metrics::http::HttpSnapshot;
use crate::metrics::HttpMetrics;

#[derive(Clone, Default)]
pub struct Registry(Arc<RwLock<BTreeMap<String, Entry>>>);

#[derive(Clone)]
pub struct Entry {
    pub proxy: Arc<Proxy>,
    pub metrics: Arc<HttpMetrics>,
}

impl Registry {
    pub fn insert(&self, id: &str, entry: Entry) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), entry);
    }

    pub fn remove(&self, id: &str) -> Option<Entry> {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(id)
    }

    pub fn proxy(&self, id: &str) -> Option<Arc<Proxy>> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|e| e.proxy.clone())
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
            .map(|(id, e)| (id.clone(), e.metrics.snapshot()))
            .collect()
    }
}
