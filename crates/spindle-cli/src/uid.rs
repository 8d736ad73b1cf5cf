//! The effective user id: sockets and caches are only trusted when this user owns them.

/// geteuid(2): std has no safe equivalent.
#[allow(unsafe_code)]
pub fn current() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
