//! The data that flows through health: raw readings in, samples out.

use std::time::Duration;

/// Raw counters of one worker, read at `at` (time since the driver's origin).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// When the counters were read.
    pub at: Duration,
    /// libuv's cumulative time the loop spent idle in its poll phase, in nanoseconds
    /// (`uv_metrics_idle_time`).
    pub idle_ns: u64,
    /// How many iterations the loop has run (`uv_metrics_info().loop_count`).
    pub loop_count: u64,
    /// The latest heap figures the worker reported, or `None` if it has not reported yet.
    ///
    /// The heap rule judges each check by the latest figures read within it, so the worker
    /// should report at least once per check interval: one old report read again and again
    /// would fail several checks on a single measurement.
    pub heap: Option<Heap>,
}

/// V8 heap figures of one worker, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heap {
    /// Bytes used by live and not-yet-collected objects.
    pub used: u64,
    /// Bytes V8 has reserved for the heap.
    pub total: u64,
    /// The most the heap may grow to (`heap_size_limit`).
    pub limit: u64,
}

impl Heap {
    /// `used / limit`, or `None` when there is no limit to compare with.
    pub fn used_ratio(&self) -> Option<f64> {
        (self.limit > 0).then(|| self.used as f64 / self.limit as f64)
    }
}

/// A sample derived from two consecutive readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When the later of the two readings was taken.
    pub at: Duration,
    /// Event-loop utilization (0..=1) over the span since the previous reading.
    pub elu: f64,
    /// The loop count at `at`.
    pub loop_count: u64,
    /// The heap figures of the reading, if the worker had reported any.
    pub heap: Option<Heap>,
}
