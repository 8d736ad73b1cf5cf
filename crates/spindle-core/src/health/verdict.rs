//! The health rules: a worker's verdict from its history, the thresholds and the time.

use std::time::Duration;

use super::history::History;
use super::reading::Heap;
use super::reason::Reason;

/// The thresholds a worker is judged by: plain data, mapped from the app's health config.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Judge at all; a disabled policy always says [`Verdict::Healthy`].
    pub enabled: bool,
    /// The length of one check: the ELU and heap rules cut the recent past into windows of
    /// this length.
    pub interval: Duration,
    /// After Ready, only the stall rule applies for this long: warming up is not unhealthy.
    pub grace_period: Duration,
    /// Consecutive failed checks before a worker is unhealthy; zero turns the ELU and heap
    /// rules off. `max_unhealthy_checks × interval` must fit in what a [`History`] holds
    /// ([`CAPACITY`](super::CAPACITY) samples), or those rules can never fire.
    pub max_unhealthy_checks: u32,
    /// A check fails when the loop's utilization (0–1) over it is above this.
    pub max_elu: f64,
    /// A check fails when heap used / heap limit (0–1) is above this.
    pub max_heap_used: f64,
    /// A loop that has not turned for this long is stuck. It should be well above the
    /// sample interval, since an idle loop is only guaranteed to turn once per interval;
    /// zero turns the stall rule off.
    pub max_stall: Duration,
}

/// What a worker's health looks like now.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Healthy,
    /// In the grace period after Ready, and not stalled: only the stall rule applies.
    Grace,
    /// Replace the worker.
    Unhealthy(Reason),
}

/// Judges a worker at `now` from its `history`; `ready_at` is when it became Ready.
///
/// In order: a disabled policy is healthy; a stall is unhealthy even in the grace period;
/// within `grace_period` of Ready the verdict is [`Verdict::Grace`]; then a sustained high
/// ELU, then a sustained high heap, is unhealthy.
///
/// The ELU and heap rules cut the last `max_unhealthy_checks × interval` before the latest
/// sample into `max_unhealthy_checks` windows of `interval`, and fire only if every window
/// fails: Watt's consecutive failed checks, derived from the history rather than counted,
/// so this stays a pure function. Samples from before `ready_at` never count: loading code
/// keeps the loop busy and says nothing about the app in service.
pub fn verdict(history: &History, policy: &Policy, ready_at: Duration, now: Duration) -> Verdict {
    if !policy.enabled {
        return Verdict::Healthy;
    }
    let stalled = history.stalled_for(now);
    if !policy.max_stall.is_zero() && stalled >= policy.max_stall {
        return Verdict::Unhealthy(Reason::Stalled { for_: stalled });
    }
    if now.saturating_sub(ready_at) < policy.grace_period {
        return Verdict::Grace;
    }
    let Some(checks) = Checks::recent(history, policy, ready_at) else {
        return Verdict::Healthy;
    };
    if let Some(reason) = elu_rule(history, policy, &checks) {
        return Verdict::Unhealthy(reason);
    }
    if let Some(reason) = heap_rule(history, policy, &checks) {
        return Verdict::Unhealthy(reason);
    }
    Verdict::Healthy
}

/// The longest time from a loop's last turn to an unhealthy verdict, when the driver
/// reads and judges every `sample_interval`: the reading that sees the last turn can come
/// up to one interval late, and `max_stall` is only seen to be reached at a reading.
/// That is `max_stall + sample_interval` when `max_stall` is a multiple of the interval.
pub fn worst_case_detection(policy: &Policy, sample_interval: Duration) -> Duration {
    if sample_interval.is_zero() {
        return policy.max_stall;
    }
    let readings = policy
        .max_stall
        .as_nanos()
        .div_ceil(sample_interval.as_nanos())
        .saturating_add(1);
    sample_interval.saturating_mul(u32::try_from(readings).unwrap_or(u32::MAX))
}

/// The checks the ELU and heap rules judge: `count` windows of `interval`, the newest
/// ending at the latest sample.
struct Checks {
    end: Duration,
    interval: Duration,
    count: u32,
}

impl Checks {
    /// `None` if there is nothing to judge yet, or the rules are off.
    fn recent(history: &History, policy: &Policy, ready_at: Duration) -> Option<Checks> {
        let end = history.latest()?.at;
        let count = policy.max_unhealthy_checks;
        if count == 0 || policy.interval.is_zero() {
            return None;
        }
        let start = end.checked_sub(policy.interval.checked_mul(count)?)?;
        (start >= ready_at).then_some(Checks {
            end,
            interval: policy.interval,
            count,
        })
    }

    fn start(&self) -> Duration {
        self.end - self.interval * self.count
    }

    /// Each window as `(from, to)`, newest first.
    fn windows(&self) -> impl Iterator<Item = (Duration, Duration)> + '_ {
        (0..self.count).map(|i| {
            let to = self.end - self.interval * i;
            (to - self.interval, to)
        })
    }
}

fn elu_rule(history: &History, policy: &Policy, checks: &Checks) -> Option<Reason> {
    let failed = checks.windows().all(|(from, to)| {
        history
            .elu_between(from, to)
            .is_some_and(|elu| elu > policy.max_elu)
    });
    failed.then_some(Reason::Elu {
        elu: history.elu_between(checks.start(), checks.end)?,
        max: policy.max_elu,
        checks: checks.count,
    })
}

fn heap_rule(history: &History, policy: &Policy, checks: &Checks) -> Option<Reason> {
    // The same coverage the ELU rule needs: a gap means the worker was not watched then.
    history.elu_between(checks.start(), checks.end)?;
    let failed = checks.windows().all(|(from, to)| {
        heap_in(history, from, to)
            .and_then(|heap| heap.used_ratio())
            .is_some_and(|ratio| ratio > policy.max_heap_used)
    });
    let (from, to) = checks.windows().next()?;
    let heap = heap_in(history, from, to)?;
    failed.then_some(Reason::Heap {
        used: heap.used,
        limit: heap.limit,
        max: policy.max_heap_used,
        checks: checks.count,
    })
}

/// The latest heap figures reported in the window `(from, to]`.
fn heap_in(history: &History, from: Duration, to: Duration) -> Option<Heap> {
    history
        .samples()
        .filter(|sample| sample.at > from && sample.at <= to)
        .filter_map(|sample| sample.heap)
        .filter(|heap| heap.limit > 0)
        .last()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ms, reading, Feed, STEP};
    use super::*;

    const MIB: u64 = 1024 * 1024;

    /// The config defaults: checks of 1 s, five in a row, 5 s of grace, 1 s stall.
    fn policy() -> Policy {
        Policy {
            enabled: true,
            interval: ms(1000),
            grace_period: ms(5000),
            max_unhealthy_checks: 5,
            max_elu: 0.99,
            max_heap_used: 0.99,
            max_stall: ms(1000),
        }
    }

    fn heap(used_percent: u64) -> Heap {
        Heap {
            used: 256 * MIB * used_percent / 100,
            total: 256 * MIB,
            limit: 256 * MIB,
        }
    }

    /// A feed whose worker became Ready at time zero and is past its grace period.
    fn served(elu: f64) -> Feed {
        let mut feed = Feed::new();
        feed.steady(elu, 20);
        feed
    }

    fn judge(feed: &Feed, policy: &Policy) -> Verdict {
        verdict(&feed.history, policy, Duration::ZERO, feed.now)
    }

    #[test]
    fn a_worker_without_readings_is_healthy() {
        let history = History::new();
        assert_eq!(
            verdict(&history, &policy(), ms(0), ms(60_000)),
            Verdict::Healthy
        );
    }

    #[test]
    fn a_busy_loop_that_moves_is_healthy_below_the_thresholds() {
        assert_eq!(judge(&served(0.9), &policy()), Verdict::Healthy);
    }

    #[test]
    fn stall_is_unhealthy_exactly_at_max_stall_and_not_before() {
        let mut feed = served(0.1);
        let moved_at = feed.now;
        feed.stuck(4);
        let policy = policy();
        let at = |now| verdict(&feed.history, &policy, Duration::ZERO, now);
        assert_eq!(at(moved_at + ms(999)), Verdict::Healthy);
        assert_eq!(
            at(moved_at + ms(1000)),
            Verdict::Unhealthy(Reason::Stalled { for_: ms(1000) })
        );
        assert_eq!(
            at(moved_at + ms(1250)),
            Verdict::Unhealthy(Reason::Stalled { for_: ms(1250) })
        );
    }

    #[test]
    fn stall_wins_in_the_grace_period() {
        let mut feed = Feed::new();
        feed.steady(0.2, 4);
        feed.stuck(4);
        assert_eq!(feed.now, ms(2000));
        assert_eq!(
            judge(&feed, &policy()),
            Verdict::Unhealthy(Reason::Stalled { for_: ms(1000) })
        );
    }

    #[test]
    fn stall_wins_over_high_elu_and_heap() {
        let mut feed = Feed::new();
        feed.reporting(1.0, 24, |_| Some(heap(100)));
        feed.stuck(4);
        assert_eq!(
            judge(&feed, &policy()),
            Verdict::Unhealthy(Reason::Stalled { for_: ms(1000) })
        );
    }

    #[test]
    fn grace_suppresses_elu_and_heap() {
        let mut feed = Feed::new();
        feed.reporting(1.0, 24, |_| Some(heap(100)));
        assert_eq!(feed.now, ms(6000));
        let policy = Policy {
            grace_period: ms(6001),
            ..policy()
        };
        assert_eq!(judge(&feed, &policy), Verdict::Grace);
        let policy = Policy {
            grace_period: ms(6000),
            ..policy
        };
        assert!(matches!(
            judge(&feed, &policy),
            Verdict::Unhealthy(Reason::Elu { .. })
        ));
    }

    #[test]
    fn grace_is_measured_from_ready() {
        let feed = served(0.1);
        let ready_at = feed.now - ms(4999);
        assert_eq!(
            verdict(&feed.history, &policy(), ready_at, feed.now),
            Verdict::Grace
        );
    }

    #[test]
    fn elu_above_the_max_in_every_check_is_unhealthy() {
        let feed = served(1.0);
        assert_eq!(
            judge(&feed, &policy()),
            Verdict::Unhealthy(Reason::Elu {
                elu: 1.0,
                max: 0.99,
                checks: 5
            })
        );
    }

    #[test]
    fn one_good_check_in_the_middle_keeps_the_worker_healthy() {
        let mut feed = Feed::new();
        feed.steady(1.0, 12);
        feed.steady(0.5, 4); // the check 2–3 s before the latest sample
        feed.steady(1.0, 8);
        assert!(feed.history.elu_over(ms(5000)).unwrap() > 0.89);
        assert_eq!(judge(&feed, &policy()), Verdict::Healthy);
        // Once that check has left the span, every check fails.
        feed.steady(1.0, 12);
        assert!(matches!(
            judge(&feed, &policy()),
            Verdict::Unhealthy(Reason::Elu { .. })
        ));
    }

    #[test]
    fn elu_equal_to_the_max_does_not_fail_a_check() {
        let feed = served(0.99);
        assert_eq!(judge(&feed, &policy()), Verdict::Healthy);
    }

    #[test]
    fn checks_may_cut_through_samples() {
        // 1 s checks over 300 ms samples: boundaries fall inside samples.
        let mut history = History::new();
        let mut at = 0;
        for n in 0..40 {
            history.push(reading(at, 0, n));
            at += 300;
        }
        let now = ms(at - 300);
        assert!(matches!(
            verdict(&history, &policy(), Duration::ZERO, now),
            Verdict::Unhealthy(Reason::Elu { checks: 5, .. })
        ));
    }

    #[test]
    fn a_history_that_does_not_cover_the_checks_is_healthy() {
        let mut feed = Feed::new();
        feed.steady(1.0, 19); // 4.75 s of samples for 5 s of checks
        let policy = Policy {
            grace_period: Duration::ZERO,
            ..policy()
        };
        assert_eq!(judge(&feed, &policy), Verdict::Healthy);
        feed.steady(1.0, 1);
        assert!(matches!(
            judge(&feed, &policy),
            Verdict::Unhealthy(Reason::Elu { .. })
        ));
    }

    #[test]
    fn checks_longer_than_the_ring_never_fire() {
        let mut feed = Feed::new();
        feed.steady(1.0, 1600); // 400 s, more than the 300 s of checks
        let policy = Policy {
            interval: ms(30_000),
            max_unhealthy_checks: 10,
            ..policy()
        };
        assert_eq!(judge(&feed, &policy), Verdict::Healthy);
    }

    #[test]
    fn samples_from_before_ready_do_not_count() {
        let mut feed = Feed::new();
        feed.steady(1.0, 24);
        let policy = Policy {
            grace_period: Duration::ZERO,
            ..policy()
        };
        let ready_at = ms(2000); // the first 2 s were startup
        assert_eq!(
            verdict(&feed.history, &policy, ready_at, feed.now),
            Verdict::Healthy
        );
        assert!(matches!(
            verdict(&feed.history, &policy, ms(1000), feed.now),
            Verdict::Unhealthy(Reason::Elu { .. })
        ));
    }

    #[test]
    fn heap_above_the_max_in_every_check_is_unhealthy() {
        let mut feed = Feed::new();
        // One report per second, as a worker might send them.
        feed.reporting(0.3, 24, |step| (step % 4 == 3).then(|| heap(100)));
        assert_eq!(
            judge(&feed, &policy()),
            Verdict::Unhealthy(Reason::Heap {
                used: 256 * MIB,
                limit: 256 * MIB,
                max: 0.99,
                checks: 5
            })
        );
    }

    #[test]
    fn a_check_without_heap_data_does_not_fail() {
        let mut feed = Feed::new();
        // Reports stop 1.5 s before the latest sample: the newest check has none.
        feed.reporting(0.3, 24, |step| (step < 18).then(|| heap(100)));
        assert_eq!(judge(&feed, &policy()), Verdict::Healthy);
    }

    #[test]
    fn one_check_below_the_heap_max_keeps_the_worker_healthy() {
        let mut feed = Feed::new();
        // The latest report of the check 2–3 s before the latest sample is fine.
        feed.reporting(0.3, 24, |step| {
            Some(if step == 15 { heap(50) } else { heap(100) })
        });
        assert_eq!(judge(&feed, &policy()), Verdict::Healthy);
    }

    #[test]
    fn a_disabled_policy_is_always_healthy() {
        let mut feed = Feed::new();
        feed.steady(1.0, 24);
        feed.stuck(40);
        let policy = Policy {
            enabled: false,
            ..policy()
        };
        assert_eq!(judge(&feed, &policy), Verdict::Healthy);
    }

    #[test]
    fn zero_checks_or_zero_stall_turn_those_rules_off() {
        let mut feed = Feed::new();
        feed.steady(1.0, 24);
        feed.stuck(40);
        let policy = Policy {
            max_unhealthy_checks: 0,
            max_stall: Duration::ZERO,
            ..policy()
        };
        assert_eq!(judge(&feed, &policy), Verdict::Healthy);
    }

    #[test]
    fn worst_case_detection_rounds_max_stall_up_to_a_reading() {
        assert_eq!(worst_case_detection(&policy(), STEP), ms(1250));
        let odd = Policy {
            max_stall: ms(1100),
            ..policy()
        };
        assert_eq!(worst_case_detection(&odd, STEP), ms(1500));
        assert_eq!(worst_case_detection(&policy(), Duration::ZERO), ms(1000));
    }

    /// A loop turning every millisecond freezes at every offset within a sample interval;
    /// the driver reads and judges every interval. Detection never takes longer than
    /// `worst_case_detection`, and reaches it.
    #[test]
    fn stalls_are_detected_within_the_worst_case() {
        for max_stall in [ms(1000), ms(1100)] {
            let policy = Policy {
                max_stall,
                ..policy()
            };
            let bound = worst_case_detection(&policy, STEP);
            let mut longest = Duration::ZERO;
            for offset in 0..250 {
                let frozen_at = 10_000 + offset; // ms: the loop's last turn
                let mut history = History::new();
                let detected = (0u64..)
                    .map(|n| n * 250)
                    .find(|&at| {
                        let turns = at.min(frozen_at);
                        let idle_ns = at * 500_000; // half busy: only the stall rule fires
                        history.push(reading(at, idle_ns, turns));
                        matches!(
                            verdict(&history, &policy, Duration::ZERO, ms(at)),
                            Verdict::Unhealthy(Reason::Stalled { .. })
                        )
                    })
                    .unwrap();
                let took = ms(detected - frozen_at);
                assert!(took <= bound, "{took:?} > {bound:?} at offset {offset}");
                longest = longest.max(took);
            }
            assert_eq!(
                bound - longest,
                ms(1),
                "the bound is tight to the millisecond"
            );
        }
    }
}
