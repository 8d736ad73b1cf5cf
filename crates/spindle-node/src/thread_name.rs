//! Worker threads named for their worker (`top -H`, `perf`, per-thread CPU in
//! bench/cpu-per-request), instead of Node's "node" for every thread.

use std::ffi::CString;
use std::os::raw::{c_char, c_int};

extern "C" {
    fn pthread_self() -> usize;
    fn pthread_setname_np(thread: usize, name: *const c_char) -> c_int;
}

/// Names the calling thread; Linux keeps the first 15 bytes.
pub fn set(name: &str) {
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    if let Ok(name) = CString::new(&name[..end]) {
        // SAFETY: a valid NUL-terminated string for the calling thread; failure is harmless.
        unsafe {
            pthread_setname_np(pthread_self(), name.as_ptr());
        }
    }
}
