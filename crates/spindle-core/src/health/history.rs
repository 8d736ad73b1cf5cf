//! One worker's recent samples: the ring, ELU over a window, and how long the loop has
//! not turned.

use std::collections::VecDeque;
use std::time::Duration;

use super::reading::{Reading, Sample};

/// Samples a [`History`] keeps. At the default 250 ms sample interval that is 32 s, which
/// bounds the span the ELU and heap rules can judge (`max_unhealthy_checks × interval`).
pub const CAPACITY: usize = 128;

/// A sample and the start of the span it describes, so windows can be cut at any time.
#[derive(Debug, Clone, Copy)]
struct Entry {
    from: Duration,
    sample: Sample,
}

/// Per-worker history: the previous reading, a ring of the last [`CAPACITY`] samples, and
/// when the loop count was last seen to change.
#[derive(Debug, Clone, Default)]
pub struct History {
    previous: Option<Reading>,
    ring: VecDeque<Entry>,
    moved_at: Option<Duration>,
}

impl History {
    /// An empty history, for a worker not read yet.
    pub fn new() -> History {
        History {
            previous: None,
            ring: VecDeque::with_capacity(CAPACITY),
            moved_at: None,
        }
    }

    /// Adds a reading and returns the sample it makes with the previous one.
    ///
    /// ELU = 1 − Δidle/Δwall, clamped to [0, 1] because libuv's clock and the driver's are
    /// read at slightly different moments. No sample comes out of:
    /// - the very first reading (nothing to compare with);
    /// - a reading not later than the previous one, which is ignored altogether;
    /// - a reading whose idle time went down: the counters are not the same loop's, so the
    ///   reading becomes the new base and the time since the previous one stays uncovered.
    pub fn push(&mut self, reading: Reading) -> Option<Sample> {
        let Some(previous) = self.previous else {
            self.previous = Some(reading);
            self.moved_at = Some(reading.at);
            return None;
        };
        if reading.at <= previous.at {
            return None;
        }
        self.previous = Some(reading);
        if reading.loop_count != previous.loop_count {
            self.moved_at = Some(reading.at);
        }
        let idle = reading.idle_ns.checked_sub(previous.idle_ns)?;
        let wall = (reading.at - previous.at).as_nanos() as f64;
        let sample = Sample {
            at: reading.at,
            elu: (1.0 - idle as f64 / wall).clamp(0.0, 1.0),
            loop_count: reading.loop_count,
            heap: reading.heap,
        };
        if self.ring.len() == CAPACITY {
            self.ring.pop_front();
        }
        self.ring.push_back(Entry {
            from: previous.at,
            sample,
        });
        Some(sample)
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&Sample> {
        self.ring.back().map(|entry| &entry.sample)
    }

    /// The samples kept, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.ring.iter().map(|entry| &entry.sample)
    }

    /// ELU over the `window` that ends at the latest sample, weighted by time; `None` if
    /// the samples do not cover all of it.
    pub fn elu_over(&self, window: Duration) -> Option<f64> {
        let end = self.latest()?.at;
        self.elu_between(end.checked_sub(window)?, end)
    }

    /// ELU over `from..to`, weighted by time; `None` if the samples do not cover all of it
    /// or it is empty. A sample only partly inside counts for the part inside, as if the
    /// loop had been equally busy throughout its span.
    pub(super) fn elu_between(&self, from: Duration, to: Duration) -> Option<f64> {
        let span = to.checked_sub(from).filter(|span| !span.is_zero())?;
        let mut covered = Duration::ZERO;
        let mut busy_ns = 0.0;
        for entry in &self.ring {
            let start = entry.from.max(from);
            let end = entry.sample.at.min(to);
            if end > start {
                covered += end - start;
                busy_ns += entry.sample.elu * (end - start).as_nanos() as f64;
            }
        }
        // Spans never overlap, so anything short of the whole span is a gap or the edge
        // of what the ring still holds.
        if covered != span {
            return None;
        }
        Some((busy_ns / span.as_nanos() as f64).clamp(0.0, 1.0))
    }

    /// How long the loop count has been seen unchanged, as of `now`: zero if the latest
    /// reading saw it change (or there is no reading yet), otherwise the time since the
    /// reading that last did.
    ///
    /// The worker keeps an unref'd timer that turns its loop at least every sample
    /// interval, so even an idle loop moves; a count that stays put means JavaScript is
    /// stuck.
    pub fn stalled_for(&self, now: Duration) -> Duration {
        match (self.previous, self.moved_at) {
            (Some(previous), Some(moved_at)) if moved_at != previous.at => {
                now.saturating_sub(moved_at)
            }
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ms, reading, Feed, STEP};
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_first_reading_makes_no_sample() {
        let mut history = History::new();
        assert_eq!(history.push(reading(0, 0, 0)), None);
        assert_eq!(history.latest(), None);
        assert_eq!(history.elu_over(ms(250)), None);
    }

    #[test]
    fn elu_is_the_share_of_wall_time_not_spent_idle() {
        let mut history = History::new();
        history.push(reading(0, 0, 0));
        // Busy: no idle time at all.
        assert_eq!(history.push(reading(250, 0, 1)).unwrap().elu, 1.0);
        // Idle: idle the whole 250 ms.
        assert_eq!(history.push(reading(500, 250_000_000, 2)).unwrap().elu, 0.0);
        // Half and half.
        let sample = history.push(reading(750, 375_000_000, 3)).unwrap();
        assert_eq!(sample.elu, 0.5);
        assert_eq!(sample.at, ms(750));
        assert_eq!(sample.loop_count, 3);
        assert_eq!(history.latest(), Some(&sample));
    }

    #[test]
    fn elu_is_clamped_when_idle_outruns_the_wall_clock() {
        let mut history = History::new();
        history.push(reading(0, 0, 0));
        // 260 ms of idle in 250 ms of wall time: the two clocks were read apart.
        assert_eq!(history.push(reading(250, 260_000_000, 1)).unwrap().elu, 0.0);
    }

    #[test]
    fn a_reading_at_the_same_time_or_earlier_is_ignored() {
        let mut history = History::new();
        history.push(reading(250, 0, 0));
        assert_eq!(history.push(reading(250, 0, 1)), None);
        assert_eq!(history.push(reading(100, 0, 2)), None);
        // The next sample spans from the reading at 250 ms, not from the ignored ones.
        let sample = history.push(reading(500, 125_000_000, 3)).unwrap();
        assert_eq!(sample.elu, 0.5);
        assert_eq!(history.samples().count(), 1);
    }

    #[test]
    fn idle_time_going_down_rebases_without_a_sample() {
        let mut history = History::new();
        history.push(reading(0, 500_000_000, 0));
        history.push(reading(250, 600_000_000, 1));
        assert_eq!(history.push(reading(500, 10, 2)), None);
        let sample = history.push(reading(750, 10, 3)).unwrap();
        assert_eq!(sample.elu, 1.0);
        // The span 250..500 ms has no sample, so a window across it is not covered.
        assert_eq!(history.elu_over(ms(250)), Some(1.0));
        assert_eq!(history.elu_over(ms(500)), None);
    }

    #[test]
    fn elu_over_a_window_is_weighted_by_time() {
        let mut feed = Feed::new();
        feed.elus(&[1.0, 1.0, 0.0, 0.0]);
        assert!(close(feed.history.elu_over(ms(1000)).unwrap(), 0.5));
        assert!(close(feed.history.elu_over(ms(500)).unwrap(), 0.0));
        // Half of the 250–500 ms sample (busy) and all of the two idle ones.
        assert!(close(feed.history.elu_over(ms(625)).unwrap(), 0.2));
        assert_eq!(feed.history.elu_over(ms(1001)), None);
        assert_eq!(feed.history.elu_over(Duration::ZERO), None);
    }

    #[test]
    fn elu_over_weights_uneven_spans() {
        let mut history = History::new();
        history.push(reading(0, 0, 0));
        history.push(reading(100, 0, 1)); // 100 ms busy
        history.push(reading(400, 300_000_000, 2)); // 300 ms idle
        assert!(close(history.elu_over(ms(400)).unwrap(), 0.25));
    }

    #[test]
    fn the_ring_keeps_the_newest_samples() {
        let mut feed = Feed::new();
        feed.steady(0.5, CAPACITY + 10);
        let samples: Vec<_> = feed.history.samples().collect();
        assert_eq!(samples.len(), CAPACITY);
        assert_eq!(samples[0].at, STEP * 11);
        assert_eq!(samples[CAPACITY - 1].at, STEP * (CAPACITY as u32 + 10));
        let kept = STEP * CAPACITY as u32;
        assert!(feed.history.elu_over(kept).is_some());
        assert_eq!(feed.history.elu_over(kept + ms(1)), None);
    }

    #[test]
    fn stalled_for_counts_from_the_reading_that_last_saw_the_loop_move() {
        let mut history = History::new();
        assert_eq!(history.stalled_for(ms(5000)), Duration::ZERO);
        history.push(reading(0, 0, 7));
        assert_eq!(history.stalled_for(ms(100)), Duration::ZERO);
        history.push(reading(250, 0, 8));
        assert_eq!(history.stalled_for(ms(300)), Duration::ZERO);
        history.push(reading(500, 0, 8));
        assert_eq!(history.stalled_for(ms(500)), ms(250));
        history.push(reading(750, 0, 8));
        assert_eq!(history.stalled_for(ms(800)), ms(550));
        history.push(reading(1000, 0, 9));
        assert_eq!(history.stalled_for(ms(1000)), Duration::ZERO);
    }

    #[test]
    fn an_idle_loop_still_moves() {
        let mut feed = Feed::new();
        feed.steady(0.0, 20);
        assert_eq!(feed.history.stalled_for(feed.now), Duration::ZERO);
    }
}
