//! How long to wait before restarting a worker that keeps crashing.

use std::time::Duration;

/// Restarting at once is right for a one-off crash; a worker that dies again right after
/// starting is in a crash loop, and restarting it at full speed would only burn CPU.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// A worker that lived this long before crashing counts as healthy: its crash is a fresh start.
pub const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// Delay before the next start of an app's worker, given how many crashes in a row
/// happened soon after start (`streak` = 0 for the first crash).
pub fn restart_delay(streak: u32) -> Duration {
    if streak == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(streak - 1).unwrap_or(u32::MAX);
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

/// The streak after a crash of a worker that lived `lived`.
pub fn next_streak(streak: u32, lived: Duration) -> u32 {
    if lived >= HEALTHY_AFTER {
        0
    } else {
        streak.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_crash_restarts_at_once_then_doubles_to_a_cap() {
        assert_eq!(restart_delay(0), Duration::ZERO);
        assert_eq!(restart_delay(1), Duration::from_millis(100));
        assert_eq!(restart_delay(2), Duration::from_millis(200));
        assert_eq!(restart_delay(5), Duration::from_millis(1600));
        assert_eq!(restart_delay(8), MAX_DELAY);
        assert_eq!(restart_delay(40), MAX_DELAY);
    }

    #[test]
    fn a_long_life_resets_the_streak() {
        assert_eq!(next_streak(0, Duration::from_millis(10)), 1);
        assert_eq!(next_streak(4, Duration::from_secs(1)), 5);
        assert_eq!(next_streak(4, HEALTHY_AFTER), 0);
    }
}
