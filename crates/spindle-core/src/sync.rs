//! The one policy for poisoned locks: carry on with the data.
//!
//! A lock is poisoned when a thread panicked while holding it. Every lock here guards data
//! that each operation leaves consistent, and a panic on a core thread already ends the
//! process in an orderly way (the supervisor's watcher, exit 70); meanwhile the other
//! threads keep serving instead of panicking in turn (a panic that reached Node would
//! abort the process without a word).

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, poisoned or not.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
