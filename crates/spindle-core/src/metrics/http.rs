//! What the ingress counts for each app: requests by method and status code with their
//! latency, and the requests it answered itself (rejected) or sent twice (retried).
//!
//! One histogram per (method, status code) is the finest grain any family needs: the
//! request counts, the per-class histograms and the quantiles are all sums or estimates
//! over these, computed when scraped, so recording a request costs what it did with
//! coarser counters (one slot lookup, two atomic adds).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::histogram::{Histogram, HistogramSnapshot};

/// Methods get their own series; anything else is counted as "other" so a client cannot
/// create unbounded label values.
pub const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Why the ingress answered a request itself with a 503.
pub const REJECT_REASONS: [&str; 3] = ["no_ready_worker", "overloaded", "app_failed"];

/// Status codes 100 to 599 each have a slot; codes outside (HTTP allows up to 999) share
/// the last one, counted as 5xx as before and labelled `status_code="other"`.
const CODES: usize = 500;
const FIRST_CODE: u16 = 100;

/// The summaries' quantiles are over the requests of about the last minute: the difference
/// between the histogram now and as it was at least this long ago.
pub const QUANTILE_WINDOW: Duration = Duration::from_secs(60);
/// How far apart the kept copies of the histograms are: the window is between
/// [`QUANTILE_WINDOW`] and this much longer (or since the previous scrape, when scrapes are
/// further apart than the window).
const WINDOW_STEP: Duration = Duration::from_secs(10);

pub struct HttpMetrics {
    /// `[method][code - 100]`, each histogram allocated on its first request: an app sees
    /// a handful of codes, and a full table of histograms would be ~0.5 MB per app.
    latency: Box<[OnceLock<Box<Histogram>>]>,
    rejected: [AtomicU64; REJECT_REASONS.len()],
    retried: AtomicU64,
    /// Copies of the histograms taken by earlier snapshots (scrapes), oldest first, at
    /// least [`WINDOW_STEP`] apart: the start of the quantiles' window. Only snapshots
    /// touch it, never a request.
    window: Mutex<VecDeque<(Instant, Vec<Series>)>>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            latency: (0..METHODS.len() * (CODES + 1))
                .map(|_| OnceLock::new())
                .collect(),
            rejected: Default::default(),
            retried: AtomicU64::new(0),
            window: Mutex::new(VecDeque::new()),
        }
    }
}

/// The status code of a series: a number, or `other` for codes outside 100-599.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusCode {
    Code(u16),
    Other,
}

impl StatusCode {
    /// `2xx` and the like; codes outside 100-599 count as 5xx.
    pub fn class(self) -> &'static str {
        match self {
            StatusCode::Code(code) => CLASSES[(code / 100).clamp(1, 5) as usize - 1],
            StatusCode::Other => "5xx",
        }
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusCode::Code(code) => write!(f, "{code}"),
            StatusCode::Other => f.write_str("other"),
        }
    }
}

/// One (method, status code) series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub method: &'static str,
    pub status: StatusCode,
    /// Every request since the start.
    pub latency: HistogramSnapshot,
    /// The requests of about the last [`QUANTILE_WINDOW`] (since the start while the
    /// process is younger), which the summaries' quantiles are estimated from.
    pub recent: HistogramSnapshot,
}

pub struct HttpSnapshot {
    /// Every (method, status code) that saw a request, by method then code.
    pub series: Vec<Series>,
    pub rejected: Vec<(&'static str, u64)>,
    pub retried: u64,
}

impl HttpSnapshot {
    /// (method, class, count) for every non-zero series.
    pub fn requests_by_class(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out: Vec<(&'static str, &'static str, u64)> = Vec::new();
        for s in &self.series {
            let class = s.status.class();
            match out
                .iter_mut()
                .find(|(m, c, _)| *m == s.method && *c == class)
            {
                Some(entry) => entry.2 += s.latency.count,
                None => out.push((s.method, class, s.latency.count)),
            }
        }
        out.sort_by_key(|(m, c, _)| {
            (
                METHODS.iter().position(|x| x == m),
                CLASSES.iter().position(|x| x == c),
            )
        });
        out
    }

    /// (class, histogram over every method) for every class that saw a request.
    pub fn latency_by_class(&self) -> Vec<(&'static str, HistogramSnapshot)> {
        CLASSES
            .iter()
            .filter_map(|class| {
                let mut sum: Option<HistogramSnapshot> = None;
                for s in self.series.iter().filter(|s| s.status.class() == *class) {
                    match &mut sum {
                        Some(total) => total.add(&s.latency),
                        None => sum = Some(s.latency.clone()),
                    }
                }
                sum.map(|h| (*class, h))
            })
            .collect()
    }
}

impl HttpMetrics {
    /// One answered request, `elapsed` from its arrival to its response head.
    pub fn record(&self, method: &str, status: u16, elapsed: Duration) {
        let m = METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(METHODS.len() - 1);
        let code = match status.checked_sub(FIRST_CODE) {
            Some(i) if (i as usize) < CODES => i as usize,
            _ => CODES,
        };
        self.latency[m * (CODES + 1) + code]
            .get_or_init(Box::default)
            .observe(elapsed);
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
        self.snapshot_at(Instant::now())
    }

    /// The counters as of `now`, the quantiles' window ending then.
    pub fn snapshot_at(&self, now: Instant) -> HttpSnapshot {
        let mut series = Vec::new();
        for (i, slot) in self.latency.iter().enumerate() {
            let Some(h) = slot.get() else { continue };
            let latency = h.snapshot();
            if latency.count == 0 {
                continue;
            }
            let (m, code) = (i / (CODES + 1), i % (CODES + 1));
            let status = if code == CODES {
                StatusCode::Other
            } else {
                StatusCode::Code(FIRST_CODE + code as u16)
            };
            series.push(Series {
                method: METHODS[m],
                status,
                recent: latency.clone(),
                latency,
            });
        }
        self.window_into(now, &mut series);
        let rejected = REJECT_REASONS
            .iter()
            .zip(&self.rejected)
            .map(|(r, n)| (*r, n.load(Ordering::Relaxed)))
            .collect();
        HttpSnapshot {
            series,
            rejected,
            retried: self.retried.load(Ordering::Relaxed),
        }
    }

    /// Sets each series' `recent` to what it counted since the newest kept copy at least
    /// [`QUANTILE_WINDOW`] old (since the start when there is none), keeps a copy of
    /// `series` when the newest is [`WINDOW_STEP`] old, and drops copies older than the
    /// one used.
    fn window_into(&self, now: Instant, series: &mut [Series]) {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let age = |at: &Instant| now.saturating_duration_since(*at);
        if let Some(base) = window
            .iter()
            .rposition(|(at, _)| age(at) >= QUANTILE_WINDOW)
        {
            window.drain(..base);
            let then = &window[0].1;
            for s in series.iter_mut() {
                if let Some(old) = then
                    .iter()
                    .find(|o| o.method == s.method && o.status == s.status)
                {
                    s.recent.subtract(&old.latency);
                }
            }
        }
        if window.back().is_none_or(|(at, _)| age(at) >= WINDOW_STEP) {
            let copy = series
                .iter()
                .map(|s| Series {
                    method: s.method,
                    status: s.status,
                    latency: s.latency.clone(),
                    recent: HistogramSnapshot::default(),
                })
                .collect();
            window.push_back((now, copy));
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
        m.record("GET", 204, Duration::from_millis(1));
        m.record("PURGE", 404, Duration::from_millis(1));
        m.record("POST", 502, Duration::from_millis(1));
        let s = m.snapshot();
        assert_eq!(
            s.requests_by_class(),
            [("GET", "2xx", 3), ("POST", "5xx", 1), ("other", "4xx", 1)]
        );
        assert_eq!(
            s.latency_by_class()
                .iter()
                .map(|(c, h)| (*c, h.count))
                .collect::<Vec<_>>(),
            [("2xx", 3), ("4xx", 1), ("5xx", 1)]
        );
    }

    #[test]
    fn every_status_code_is_its_own_series() {
        let m = HttpMetrics::default();
        m.record("GET", 200, Duration::from_millis(1));
        m.record("GET", 204, Duration::from_millis(2));
        m.record("GET", 204, Duration::from_millis(2));
        m.record("DELETE", 599, Duration::from_millis(1));
        m.record("GET", 700, Duration::from_millis(1));
        m.record("GET", 42, Duration::from_millis(1));
        let s = m.snapshot();
        let seen: Vec<(&str, String, u64)> = s
            .series
            .iter()
            .map(|s| (s.method, s.status.to_string(), s.latency.count))
            .collect();
        assert_eq!(
            seen,
            [
                ("GET", "200".into(), 1),
                ("GET", "204".into(), 2),
                ("GET", "other".into(), 2),
                ("DELETE", "599".into(), 1),
            ]
        );
        assert_eq!(StatusCode::Other.class(), "5xx");
        assert_eq!(StatusCode::Code(599).class(), "5xx");
        assert_eq!(StatusCode::Code(101).class(), "1xx");
    }

    #[test]
    fn quantiles_are_over_the_last_minute_and_counts_since_the_start() {
        let m = HttpMetrics::default();
        let start = Instant::now();
        let recent = |at: Duration| {
            let s = m.snapshot_at(start + at);
            let series = &s.series[0];
            (
                series.latency.count,
                series.recent.count,
                series.recent.quantile(0.5),
            )
        };
        // A first scrape before any request keeps an empty copy.
        assert!(m.snapshot_at(start).series.is_empty());
        // Slow requests at first; before a minute has passed, the window is since the start.
        for _ in 0..10 {
            m.record("GET", 200, Duration::from_millis(800));
        }
        let (total, window, p50) = recent(Duration::from_secs(15));
        assert_eq!((total, window), (10, 10));
        assert!(p50 > 0.5, "{p50}");
        // Scrapes every 15 s keep copies; fast requests from then on.
        for at in [30, 45] {
            recent(Duration::from_secs(at));
        }
        for _ in 0..10 {
            m.record("GET", 200, Duration::from_millis(2));
        }
        // At 61 s the window starts at the (empty) copy taken at 0 s: both kinds are in it.
        let (total, window, _) = recent(Duration::from_secs(61));
        assert_eq!((total, window), (20, 20));
        // At 76 s it starts at the copy of 15 s, after the slow requests.
        let (total, window, p50) = recent(Duration::from_secs(76));
        assert_eq!((total, window), (20, 10));
        assert!(p50 <= 0.0025, "{p50}");
        // A minute without requests: nothing in the window, no quantile.
        recent(Duration::from_secs(100));
        let (total, window, p50) = recent(Duration::from_secs(140));
        assert_eq!((total, window), (20, 0));
        assert!(p50.is_nan());
        let kept = m.window.lock().unwrap().len();
        assert!(kept <= 8, "old copies are dropped: {kept}");
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
