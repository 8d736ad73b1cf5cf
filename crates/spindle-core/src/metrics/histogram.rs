//! A cumulative latency histogram that many threads record into without locks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds in seconds: from a fast cached answer (1 ms) to a slow report (10 s).
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
pub struct Histogram {
    /// Per bucket, the observations that fell in it (not cumulative; summed when rendered).
    counts: [AtomicU64; BUCKETS.len()],
    /// Observations above the last bucket.
    overflow: AtomicU64,
    sum_micros: AtomicU64,
}

/// A consistent-enough copy for rendering: cumulative counts per bucket, then +Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Default for HistogramSnapshot {
    /// No observations.
    fn default() -> Self {
        HistogramSnapshot {
            cumulative: vec![0; BUCKETS.len()],
            count: 0,
            sum_seconds: 0.0,
        }
    }
}

impl HistogramSnapshot {
    /// Takes away `earlier`'s observations, a copy of the same histogram taken before:
    /// what remains is what it observed since.
    pub fn subtract(&mut self, earlier: &HistogramSnapshot) {
        for (mine, theirs) in self.cumulative.iter_mut().zip(&earlier.cumulative) {
            *mine = mine.saturating_sub(*theirs);
        }
        self.count = self.count.saturating_sub(earlier.count);
        self.sum_seconds = (self.sum_seconds - earlier.sum_seconds).max(0.0);
    }

    /// Adds `other`'s observations (same buckets) to these.
    pub fn add(&mut self, other: &HistogramSnapshot) {
        for (mine, theirs) in self.cumulative.iter_mut().zip(&other.cumulative) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum_seconds += other.sum_seconds;
    }

    /// The `q`-quantile (0..=1) estimated from the buckets as Prometheus'
    /// `histogram_quantile` does: linear within the bucket that holds the rank, the highest
    /// finite bound when the rank is above it. NaN without observations.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let mut below = 0u64;
        let mut lower = 0.0;
        for (le, cumulative) in BUCKETS.iter().zip(&self.cumulative) {
            if *cumulative as f64 >= rank && *cumulative > below {
                // Measured from the bucket's top, so a rank at its top is exactly its bound.
                let within = (*cumulative - below) as f64;
                let above = (*cumulative as f64 - rank) / within;
                return le - (le - lower) * above.min(1.0);
            }
            below = *cumulative;
            lower = *le;
        }
        BUCKETS[BUCKETS.len() - 1]
    }
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        match BUCKETS.iter().position(|le| secs <= *le) {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.overflow.fetch_add(1, Ordering::Relaxed),
        };
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let cumulative = self
            .counts
            .iter()
            .map(|c| {
                running += c.load(Ordering::Relaxed);
                running
            })
            .collect();
        let count = running + self.overflow.load(Ordering::Relaxed);
        let sum_seconds = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        HistogramSnapshot {
            cumulative,
            count,
            sum_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_includes_overflow() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(20));
        let s = h.snapshot();
        assert_eq!(s.cumulative[0], 1);
        assert_eq!(s.cumulative[1], 1);
        assert_eq!(s.cumulative[2], 3);
        assert_eq!(*s.cumulative.last().unwrap(), 3);
        assert_eq!(s.count, 4);
        assert!((s.sum_seconds - 20.0065).abs() < 1e-9);
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket_that_holds_the_rank() {
        let h = Histogram::default();
        // 10 observations in (0.01, 0.025], 10 in (0.05, 0.1].
        for _ in 0..10 {
            h.observe(Duration::from_millis(20));
            h.observe(Duration::from_millis(80));
        }
        let s = h.snapshot();
        // Rank 10 of 20 is the top of the first filled bucket.
        assert!(
            (s.quantile(0.5) - 0.025).abs() < 1e-12,
            "{}",
            s.quantile(0.5)
        );
        // Rank 19 is 9/10 of the way through (0.05, 0.1].
        assert!(
            (s.quantile(0.95) - 0.095).abs() < 1e-12,
            "{}",
            s.quantile(0.95)
        );
        // Rank 2 is 2/10 of the way through (0.01, 0.025].
        assert!(
            (s.quantile(0.1) - 0.013).abs() < 1e-12,
            "{}",
            s.quantile(0.1)
        );
        assert!(HistogramSnapshot {
            cumulative: vec![0; BUCKETS.len()],
            count: 0,
            sum_seconds: 0.0
        }
        .quantile(0.5)
        .is_nan());
    }

    #[test]
    fn a_rank_above_every_bucket_is_the_highest_bound() {
        let h = Histogram::default();
        h.observe(Duration::from_secs(30));
        assert_eq!(h.snapshot().quantile(0.99), 10.0);
    }

    #[test]
    fn snapshots_add_up() {
        let (a, b) = (Histogram::default(), Histogram::default());
        a.observe(Duration::from_millis(3));
        b.observe(Duration::from_millis(3));
        b.observe(Duration::from_secs(1));
        let mut sum = a.snapshot();
        sum.add(&b.snapshot());
        assert_eq!(sum.count, 3);
        assert_eq!(sum.cumulative[2], 2);
        assert_eq!(*sum.cumulative.last().unwrap(), 3);
        assert!((sum.sum_seconds - 1.006).abs() < 1e-9);
    }
}
