//! A worker's libuv loop, read from a core thread.
//!
//! The loop belongs to the worker thread and is freed when that thread's environment is
//! torn down, so the pointer lives behind a lock that the environment's cleanup hook
//! takes to clear it: a reader either sees the loop alive for its whole read, or no loop.

use std::ffi::c_void;
use std::os::raw::c_int;
use std::sync::{Arc, Mutex};

use spindle_core::probe::{LoopCounters, LoopReader};

/// libuv's `uv_metrics_t` (libuv ≥ 1.45, in every Node this addon supports).
#[repr(C)]
struct UvMetrics {
    loop_count: u64,
    events: u64,
    events_waiting: u64,
    reserved: [*mut u64; 13],
}

// Resolved from the node executable when the addon is loaded.
extern "C" {
    fn uv_metrics_idle_time(uv_loop: *mut c_void) -> u64;
    fn uv_metrics_info(uv_loop: *mut c_void, metrics: *mut UvMetrics) -> c_int;
}

struct LoopPtr(*mut c_void);

// The pointer is only dereferenced by libuv's metrics functions, which are safe to call
// from another thread, and only while the slot's lock proves the loop still exists.
unsafe impl Send for LoopPtr {}

#[derive(Clone)]
pub struct LoopSlot(Arc<Mutex<Option<LoopPtr>>>);

impl LoopSlot {
    pub fn new(uv_loop: *mut c_void) -> LoopSlot {
        LoopSlot(Arc::new(Mutex::new(
            (!uv_loop.is_null()).then_some(LoopPtr(uv_loop)),
        )))
    }

    /// Called from the worker's environment cleanup hook, before the loop is freed.
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl LoopReader for LoopSlot {
    fn read(&self) -> Option<LoopCounters> {
        let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let ptr = slot.as_ref()?.0;
        // SAFETY: the loop is alive while the lock is held (see the module doc).
        unsafe {
            let idle_ns = uv_metrics_idle_time(ptr);
            let mut metrics: UvMetrics = std::mem::zeroed();
            if uv_metrics_info(ptr, &mut metrics) != 0 {
                return None;
            }
            Some(LoopCounters {
                idle_ns,
                loop_count: metrics.loop_count,
            })
        }
    }
}
