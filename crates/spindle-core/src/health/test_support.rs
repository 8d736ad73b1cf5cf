//! Simulated workers for tests: readings built step by step on a fake clock.

use std::time::Duration;

use super::history::History;
use super::reading::{Heap, Reading};

/// The driver's default sample interval.
pub const STEP: Duration = Duration::from_millis(250);

pub fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

pub fn reading(at_ms: u64, idle_ns: u64, loop_count: u64) -> Reading {
    Reading {
        at: ms(at_ms),
        idle_ns,
        loop_count,
        heap: None,
    }
}

/// A worker read every [`STEP`], starting with a reading at time zero.
pub struct Feed {
    pub history: History,
    pub now: Duration,
    idle_ns: u64,
    loop_count: u64,
}

impl Feed {
    pub fn new() -> Feed {
        let mut feed = Feed {
            history: History::new(),
            now: Duration::ZERO,
            idle_ns: 0,
            loop_count: 0,
        };
        feed.history.push(feed.reading(None));
        feed
    }

    /// One step at `elu`, the loop turning, with an optional heap report.
    pub fn step(&mut self, elu: f64, heap: Option<Heap>) {
        self.now += STEP;
        self.idle_ns += ((1.0 - elu) * STEP.as_nanos() as f64).round() as u64;
        self.loop_count += 1;
        let reading = self.reading(heap);
        self.history.push(reading);
    }

    /// One step per ELU in `elus`.
    pub fn elus(&mut self, elus: &[f64]) {
        for &elu in elus {
            self.step(elu, None);
        }
    }

    /// `steps` steps at `elu`.
    pub fn steady(&mut self, elu: f64, steps: usize) {
        for _ in 0..steps {
            self.step(elu, None);
        }
    }

    /// `steps` steps at `elu`, step `i` with the heap report `report(i)` gives.
    pub fn reporting(&mut self, elu: f64, steps: usize, report: impl Fn(usize) -> Option<Heap>) {
        for i in 0..steps {
            self.step(elu, report(i));
        }
    }

    /// `steps` steps with the loop stuck in JavaScript: fully busy, count unchanged.
    pub fn stuck(&mut self, steps: usize) {
        for _ in 0..steps {
            self.now += STEP;
            let reading = self.reading(None);
            self.history.push(reading);
        }
    }

    fn reading(&self, heap: Option<Heap>) -> Reading {
        Reading {
            at: self.now,
            idle_ns: self.idle_ns,
            loop_count: self.loop_count,
            heap,
        }
    }
}
