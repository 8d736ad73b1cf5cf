//! Health, from outside: turning a worker's raw loop and heap counters into samples and
//! verdicts, without asking the worker's JavaScript anything.
//!
//! A driver reads each worker's counters every `sample_interval` from its own thread and
//! feeds them here; everything in this module is a pure function of those readings and of
//! the time passed in, so tests run on simulated time.
//!
//! Parts:
//! - `reading`: [`Reading`], [`Heap`] and [`Sample`], the data that flows in and out.
//! - `history`: [`History`], one worker's ring of samples, ELU over a window, and how
//!   long its loop has not turned.
//! - `verdict`: [`Policy`], [`Verdict`] and [`verdict`], the rules (stall, grace, ELU, heap).
//! - `reason`: [`Reason`], why a worker is unhealthy, as a label and a sentence.
//! - `retire`: [`retirements`], which of an app's unhealthy workers to replace now.

mod history;
mod reading;
mod reason;
mod retire;
#[cfg(test)]
mod test_support;
mod verdict;

pub use history::{History, CAPACITY};
pub use reading::{Heap, Reading, Sample};
pub use reason::Reason;
pub use retire::{retirements, Choice, Serving, Spared};
pub use verdict::{verdict, worst_case_detection, Policy, Verdict};
