//! How long to wait before trying again: restarting a worker that keeps crashing, and
//! accepting on a listener whose accepts keep failing.

use std::time::Duration;

/// Restarting at once is right for a one-off crash; a worker that dies again soon after
/// starting is in a crash loop, and restarting it at full speed would only burn CPU.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// A worker that served this long before crashing had a good start: its crash is
/// restarted at once and ends any streak. This also bounds the cost of a worker that
/// crashes over and over while serving: at most one immediate restart per window.
pub const GOOD_START: Duration = Duration::from_secs(1);

/// After a crash of a worker that had been Ready for `served` (zero if it never was),
/// given the app's streak of crashes soon after start: the delay before the restart,
/// and the new streak.
pub fn after_crash(streak: u32, served: Duration) -> (Duration, u32) {
    if served >= GOOD_START {
        return (Duration::ZERO, 0);
    }
    (delay(streak), streak.saturating_add(1))
}

/// 0 for the first crash of a streak, then 100 ms doubling up to 10 s.
fn delay(streak: u32) -> Duration {
    if streak == 0 {
        return Duration::ZERO;
    }
    doubling(FIRST_DELAY, MAX_DELAY, streak)
}

/// The first wait after a failed accept. Running out of file descriptors (EMFILE, ENFILE)
/// is the usual cause; it clears as soon as a connection closes, so the first wait is short.
pub const ACCEPT_FIRST_DELAY: Duration = Duration::from_millis(50);
/// The longest: a listener whose accepts keep failing tries five times a second, not in a
/// loop that fills the log and takes a CPU; and once descriptors are free again it serves
/// within 200 ms (at 1 s, a burst that ran out of them would leave the port deaf a second).
pub const ACCEPT_MAX_DELAY: Duration = Duration::from_millis(200);

/// After the `failures`-th accept failure in a row (1 for the first): how long the
/// listener waits before it accepts again. 50 ms doubling up to 200 ms.
pub fn after_accept_error(failures: u32) -> Duration {
    doubling(ACCEPT_FIRST_DELAY, ACCEPT_MAX_DELAY, failures.max(1))
}

/// `first` for n = 1, doubled for each n after, never more than `max`.
fn doubling(first: Duration, max: Duration, n: u32) -> Duration {
    let factor = 1u32.checked_shl(n - 1).unwrap_or(u32::MAX);
    first.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_loop_restarts_at_once_then_doubles_to_a_cap() {
        let quick = Duration::from_millis(50);
        let mut streak = 0;
        let mut delays = vec![];
        for _ in 0..10 {
            let (d, s) = after_crash(streak, quick);
            delays.push(d.as_millis());
            streak = s;
        }
        assert_eq!(
            delays,
            [0, 100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]
        );
        assert_eq!(after_crash(u32::MAX, quick), (MAX_DELAY, u32::MAX));
    }

    #[test]
    fn failed_accepts_wait_longer_each_time_up_to_a_cap() {
        let waits: Vec<u128> = (1..=8).map(|n| after_accept_error(n).as_millis()).collect();
        assert_eq!(waits, [50, 100, 200, 200, 200, 200, 200, 200]);
        assert_eq!(after_accept_error(0), ACCEPT_FIRST_DELAY);
        assert_eq!(after_accept_error(u32::MAX), ACCEPT_MAX_DELAY);
    }

    #[test]
    fn a_good_start_resets_the_streak() {
        assert_eq!(after_crash(6, GOOD_START), (Duration::ZERO, 0));
        assert_eq!(after_crash(0, GOOD_START), (Duration::ZERO, 0));
        let almost = GOOD_START - Duration::from_millis(1);
        assert_eq!(after_crash(6, almost).0, Duration::from_millis(3200));
    }
}
