//! What happened between two samples of `/v1/metrics?format=json`: per app, requests per
//! second and the 99th percentile latency, from the differences of the counters.

use std::collections::BTreeMap;
use std::time::Duration;

use spindle_api::{AppMetrics, Metrics};

/// One app over the window between two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppWindow {
    pub requests_per_s: f64,
    /// Answers with a 5xx status, per second.
    pub errors_per_s: f64,
    /// The 99th percentile latency; `None` without requests.
    pub p99: Option<Quantile>,
}

/// Where a quantile lies, as histogram buckets tell it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantile {
    /// At most this many seconds: the upper bound of its bucket.
    Within(f64),
    /// Beyond the last finite bound, which is this many seconds.
    Beyond(f64),
}

/// Every app of `after`, compared with the same app in `before`, `elapsed` apart.
pub fn between(
    before: &Metrics,
    after: &Metrics,
    elapsed: Duration,
) -> BTreeMap<String, AppWindow> {
    after
        .apps
        .iter()
        .map(|app| {
            let earlier = before.apps.iter().find(|a| a.id == app.id);
            (app.id.clone(), app_window(earlier, app, elapsed))
        })
        .collect()
}

fn app_window(before: Option<&AppMetrics>, after: &AppMetrics, elapsed: Duration) -> AppWindow {
    let secs = elapsed.as_secs_f64().max(0.001);
    let mut requests = 0;
    let mut errors = 0;
    for count in &after.requests {
        let earlier = before
            .and_then(|b| {
                b.requests
                    .iter()
                    .find(|c| c.method == count.method && c.code_class == count.code_class)
            })
            .map_or(0, |c| c.count);
        let delta = count.count.saturating_sub(earlier);
        requests += delta;
        if count.code_class == "5xx" {
            errors += delta;
        }
    }

    // The classes' histograms share their bounds, so their deltas add up bucket by bucket.
    let mut merged: Vec<(f64, u64)> = Vec::new();
    let mut total = 0;
    for latency in &after.latency {
        let earlier = before.and_then(|b| {
            b.latency
                .iter()
                .find(|l| l.code_class == latency.code_class)
        });
        total += latency.count.saturating_sub(earlier.map_or(0, |l| l.count));
        for &(bound, count) in &latency.buckets {
            let old = earlier
                .and_then(|l| l.buckets.iter().find(|(b, _)| *b == bound))
                .map_or(0, |(_, c)| *c);
            let delta = count.saturating_sub(old);
            match merged.iter_mut().find(|(b, _)| *b == bound) {
                Some(entry) => entry.1 += delta,
                None => merged.push((bound, delta)),
            }
        }
    }
    merged.sort_by(|a, b| a.0.total_cmp(&b.0));

    AppWindow {
        requests_per_s: requests as f64 / secs,
        errors_per_s: errors as f64 / secs,
        p99: p99(&merged, total),
    }
}

/// The smallest bound whose cumulative count holds at least 99% of `total` (`Beyond` the
/// last finite bound when none does); `None` when `total` is 0.
pub fn p99(cumulative: &[(f64, u64)], total: u64) -> Option<Quantile> {
    if total == 0 {
        return None;
    }
    let found = cumulative
        .iter()
        .filter(|(bound, _)| bound.is_finite())
        .find(|(_, count)| u128::from(*count) * 100 >= u128::from(total) * 99);
    Some(match found {
        Some((bound, _)) => Quantile::Within(*bound),
        None => Quantile::Beyond(
            cumulative
                .iter()
                .map(|(bound, _)| *bound)
                .filter(|bound| bound.is_finite())
                .fold(0.0, f64::max),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_api::{Latency, RequestCount};

    const BOUNDS: [f64; 4] = [0.001, 0.0025, 0.005, 0.01];

    fn app(
        id: &str,
        requests: &[(&str, &str, u64)],
        latency: &[(&str, [u64; 4], u64)],
    ) -> AppMetrics {
        AppMetrics {
            id: id.into(),
            requests: requests
                .iter()
                .map(|(method, class, count)| RequestCount {
                    method: method.to_string(),
                    code_class: class.to_string(),
                    count: *count,
                })
                .collect(),
            latency: latency
                .iter()
                .map(|(class, counts, count)| Latency {
                    code_class: class.to_string(),
                    buckets: BOUNDS.iter().copied().zip(counts.iter().copied()).collect(),
                    count: *count,
                    sum_seconds: 0.0,
                })
                .collect(),
            ..AppMetrics::default()
        }
    }

    #[test]
    fn p99_is_the_first_bound_holding_99_percent() {
        let buckets = [
            (0.001, 0),
            (0.0025, 50),
            (0.005, 98),
            (0.01, 99),
            (0.1, 100),
        ];
        assert_eq!(p99(&buckets, 100), Some(Quantile::Within(0.01)));
        assert_eq!(p99(&buckets[..2], 50), Some(Quantile::Within(0.0025)));
        assert_eq!(p99(&[(0.001, 1)], 1), Some(Quantile::Within(0.001)));
        // Past the last finite bound, whether or not +Inf is listed.
        assert_eq!(p99(&[(0.001, 0), (0.1, 0)], 1), Some(Quantile::Beyond(0.1)));
        assert_eq!(
            p99(&[(0.001, 0), (f64::INFINITY, 1)], 1),
            Some(Quantile::Beyond(0.001))
        );
        assert_eq!(p99(&[], 0), None);
        assert_eq!(p99(&buckets, 0), None);
    }

    #[test]
    fn rates_and_p99_come_from_the_differences() {
        let before = Metrics {
            apps: vec![app(
                "web",
                &[("GET", "2xx", 100), ("GET", "5xx", 1)],
                &[("2xx", [10, 90, 100, 100], 100), ("5xx", [0, 0, 1, 1], 1)],
            )],
        };
        // 200 more 2xx in 2 s (all within 2.5 ms) and 4 more 5xx that took ~10 ms.
        let after = Metrics {
            apps: vec![
                app(
                    "web",
                    &[("GET", "2xx", 300), ("GET", "5xx", 5)],
                    &[("2xx", [20, 290, 300, 300], 300), ("5xx", [0, 0, 1, 5], 5)],
                ),
                app("api", &[("POST", "2xx", 4)], &[("2xx", [4, 4, 4, 4], 4)]),
            ],
        };
        let windows = between(&before, &after, Duration::from_secs(2));
        let web = windows["web"];
        assert_eq!(web.requests_per_s, 102.0);
        assert_eq!(web.errors_per_s, 2.0);
        // 204 requests: 200 by 2.5 ms is 98%, so the 99th percentile is in the 10 ms bucket.
        assert_eq!(web.p99, Some(Quantile::Within(0.01)));
        // An app new since the first sample counts from zero.
        assert_eq!(windows["api"].requests_per_s, 2.0);
        assert_eq!(windows["api"].p99, Some(Quantile::Within(0.001)));
    }

    #[test]
    fn no_requests_means_no_p99() {
        let sample = Metrics {
            apps: vec![app(
                "web",
                &[("GET", "2xx", 7)],
                &[("2xx", [7, 7, 7, 7], 7)],
            )],
        };
        let window = between(&sample, &sample, Duration::from_secs(1))["web"];
        assert_eq!(window.requests_per_s, 0.0);
        assert_eq!(window.p99, None);
    }
}
