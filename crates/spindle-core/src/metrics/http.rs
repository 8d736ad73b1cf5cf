//! What the ingress counts for each app: requests by method and status class, their
//! latency, and the requests it answered itself (rejected) or sent twice (retried).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::histogram::{Histogram, HistogramSnapshot};

/// Methods get their own series; anything else is counted as "other" so a client cannot
/// create unbounded label values.
pub const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Why the ingress answered a request itself with a 503.
pub const REJECT_REASONS: [&str; 3] = ["no_ready_worker", "overloaded", "app_failed"];

#[derive(Default)]
pub struct HttpMetrics {
    requests: [[AtomicU64; CLASSES.len()]; METHODS.len()],
    latency: [Histogram; CLASSES.len()],
    rejected: [AtomicU64; REJECT_REASONS.len()],
    retried: AtomicU64,
}

pub struct HttpSnapshot {
    /// (method, class, count) for every non-zero series.
    pub requests: Vec<(&'static str, &'static str, u64)>,
    /// (class, histogram) for every class that saw a request.
    pub latency: Vec<(&'static str, HistogramSnapshot)>,
    pub rejected: Vec<(&'static str, u64)>,
    pub retried: u64,
}

impl HttpMetrics {
    /// One answered request, `elapsed` from its arrival to its response head.
    pub fn record(&self, method: &str, status: u16, elapsed: Duration) {
        let m = METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(METHODS.len() - 1);
        let c = (status / 100).clamp(1, 5) as usize - 1;
        self.requests[m][c].fetch_add(1, Ordering::Relaxed);
        self.latency[c].observe(elapsed);
    }

    pub fn rejected(&self, reason: &str) {
        if let Some(i) = REJECT_REASONS.iter().position(|r| *r == reason) {
            self.rejected[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn retried(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HttpSnapshot {
        let mut requests = Vec::new();
        for (m, method) in METHODS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = self.requests[m][c].load(Ordering::Relaxed);
                if n > 0 {
                    requests.push((*method, *class, n));
                }
            }
        }
        let latency = CLASSES
            .iter()
            .zip(&self.latency)
            .map(|(class, h)| (*class, h.snapshot()))
            .filter(|(_, s)| s.count > 0)
            .collect();
        let rejected = REJECT_REASONS
            .iter()
            .zip(&self.rejected)
            .map(|(r, n)| (*r, n.load(Ordering::Relaxed)))
            .collect();
        HttpSnapshot {
            requests,
            latency,
            rejected,
            retried: self.retried.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_method_and_class_with_unknown_methods_as_other() {
        let m = HttpMetrics::default();
        m.record("GET", 200, Duration::from_millis(1));
        m.record("GET", 200, Duration::from_millis(1));
        m.record("PURGE", 404, Duration::from_millis(1));
        m.record("POST", 502, Duration::from_millis(1));
        let s = m.snapshot();
        assert_eq!(
            s.requests,
            [("GET", "2xx", 2), ("POST", "5xx", 1), ("other", "4xx", 1)]
        );
        assert_eq!(
            s.latency
                .iter()
                .map(|(c, h)| (*c, h.count))
                .collect::<Vec<_>>(),
            [("2xx", 2), ("4xx", 1), ("5xx", 1)]
        );
    }

    #[test]
    fn rejections_and_retries() {
        let m = HttpMetrics::default();
        m.rejected("overloaded");
        m.rejected("overloaded");
        m.rejected("not-a-reason");
        m.retried();
        let s = m.snapshot();
        assert_eq!(
            s.rejected,
            [("no_ready_worker", 0), ("overloaded", 2), ("app_failed", 0)]
        );
        assert_eq!(s.retried, 1);
    }
}
