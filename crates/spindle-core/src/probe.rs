//! What the core can read of a worker without running any of its JavaScript: its event
//! loop's counters (through a reader the addon provides), the last heap figures it
//! reported, and the runtime figures and app metrics it last published.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::health::{Heap, Reading};
use crate::metrics::WorkerFigures;

/// libuv's cumulative counters of one loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopCounters {
    /// Time the loop spent waiting for events, in ns (`uv_metrics_idle_time`).
    pub idle_ns: u64,
    /// Iterations of the loop (`uv_metrics_info().loop_count`).
    pub loop_count: u64,
}

/// Reads a worker's loop from another thread. Returns None once the loop is gone.
pub trait LoopReader: Send + Sync + 'static {
    fn read(&self) -> Option<LoopCounters>;
}

pub struct Probe {
    reader: Box<dyn LoopReader>,
    heap_used: AtomicU64,
    heap_total: AtomicU64,
    heap_limit: AtomicU64,
    figures: Arc<WorkerFigures>,
}

impl Probe {
    pub fn new(reader: Box<dyn LoopReader>) -> Probe {
        Probe {
            reader,
            heap_used: AtomicU64::new(0),
            heap_total: AtomicU64::new(0),
            heap_limit: AtomicU64::new(0),
            figures: Arc::new(WorkerFigures::new()),
        }
    }

    /// Where the worker publishes its runtime figures and its app's metrics.
    pub fn figures(&self) -> &Arc<WorkerFigures> {
        &self.figures
    }

    /// Called from the worker's own thread on a timer. When its loop is stuck the figures
    /// stop changing, which the stall rule already catches.
    pub fn report_heap(&self, used: u64, total: u64, limit: u64) {
        self.heap_used.store(used, Ordering::Relaxed);
        self.heap_total.store(total, Ordering::Relaxed);
        self.heap_limit.store(limit, Ordering::Relaxed);
    }

    /// A reading stamped `at`, or None when the worker's loop is gone.
    pub fn read(&self, at: Duration) -> Option<Reading> {
        let counters = self.reader.read()?;
        let limit = self.heap_limit.load(Ordering::Relaxed);
        let heap = (limit > 0).then(|| Heap {
            used: self.heap_used.load(Ordering::Relaxed),
            total: self.heap_total.load(Ordering::Relaxed),
            limit,
        });
        Some(Reading {
            at,
            idle_ns: counters.idle_ns,
            loop_count: counters.loop_count,
            heap,
        })
    }
}
