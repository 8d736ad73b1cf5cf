//! Which unhealthy workers of one app to replace at a health check.
//!
//! A verdict judges one worker; replacing a worker costs the app a warm worker and a
//! cold start, so the choice looks at the app as a whole. A stuck loop serves nothing
//! and is always replaced. ELU and heap verdicts replace at most one worker of an app at
//! a time and never its last serving one, and ELU none at all while every serving worker
//! is busy: that is load, not a fault, and a replacement would be just as busy while its
//! start costs the capacity and the tail latency the app is short of (measured: a
//! saturated 2-worker app lost a worker to ELU every few seconds, and p99 tripled). The
//! scaler, not replacement, answers load.

use super::reason::Reason;
use super::verdict::Verdict;
use crate::datapath::endpoint::SATURATED_BELOW;

/// One serving worker at a health check.
#[derive(Debug, Clone, PartialEq)]
pub struct Serving {
    /// Its ELU in the latest sample before this check, if it has one.
    pub elu: Option<f64>,
    /// This check's verdict, or None when it was not judged (no reading yet, or it is
    /// already leaving).
    pub verdict: Option<Verdict>,
}

/// What becomes of one serving worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// Healthy, in its grace period, or not judged.
    Keep,
    /// Replace it.
    Retire(Reason),
    /// Unhealthy, but kept.
    Spare(Reason, Spared),
}

/// Why an unhealthy worker is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spared {
    /// Busy, but so is every serving worker of the app.
    Saturated,
    /// Another worker is being replaced, or it is the last one serving.
    OneAtATime,
}

/// The choice for each of an app's serving workers, in order; `retiring` says whether
/// one of its workers is already on its way out.
pub fn retirements(serving: &[Serving], retiring: bool) -> Vec<Choice> {
    let saturated = serving
        .iter()
        .all(|w| w.elu.is_some_and(|elu| elu >= SATURATED_BELOW));
    let mut left = serving.len();
    let mut retiring = retiring;
    serving
        .iter()
        .map(|w| {
            let Some(Verdict::Unhealthy(reason)) = &w.verdict else {
                return Choice::Keep;
            };
            let stalled = matches!(reason, Reason::Stalled { .. });
            if matches!(reason, Reason::Elu { .. }) && saturated {
                return Choice::Spare(reason.clone(), Spared::Saturated);
            }
            if !stalled && (retiring || left <= 1) {
                return Choice::Spare(reason.clone(), Spared::OneAtATime);
            }
            left = left.saturating_sub(1);
            retiring = true;
            Choice::Retire(reason.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const BUSY: f64 = 1.0;
    const CALM: f64 = 0.1;

    fn stalled() -> Reason {
        Reason::Stalled {
            for_: Duration::from_secs(2),
        }
    }

    fn elu() -> Reason {
        Reason::Elu {
            elu: 1.0,
            max: 0.99,
            checks: 5,
        }
    }

    fn heap() -> Reason {
        Reason::Heap {
            used: 99,
            limit: 100,
            max: 0.9,
            checks: 5,
        }
    }

    fn w(elu: f64, verdict: Option<Reason>) -> Serving {
        Serving {
            elu: Some(elu),
            verdict: Some(verdict.map_or(Verdict::Healthy, Verdict::Unhealthy)),
        }
    }

    fn spare(reason: Reason, why: Spared) -> Choice {
        Choice::Spare(reason, why)
    }

    #[test]
    fn chooses_at_most_one_but_every_stuck_worker() {
        use Choice::{Keep, Retire};
        use Spared::{OneAtATime, Saturated};
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<Serving>, bool, Vec<Choice>)> = vec![
            ("healthy workers stay",
             vec![w(CALM, None), w(CALM, None)], false,
             vec![Keep, Keep]),
            ("one busier than its siblings goes",
             vec![w(BUSY, Some(elu())), w(CALM, None)], false,
             vec![Retire(elu()), Keep]),
            ("then the next one waits",
             vec![w(BUSY, Some(elu())), w(BUSY, Some(elu())), w(CALM, None)], false,
             vec![Retire(elu()), spare(elu(), OneAtATime), Keep]),
            ("not while another is being replaced",
             vec![w(BUSY, Some(heap())), w(CALM, None)], true,
             vec![spare(heap(), OneAtATime), Keep]),
            ("never the last one serving",
             vec![w(CALM, Some(heap()))], false,
             vec![spare(heap(), OneAtATime)]),
            ("ELU on every worker is load",
             vec![w(BUSY, Some(elu())), w(BUSY, Some(elu()))], false,
             vec![spare(elu(), Saturated), spare(elu(), Saturated)]),
            ("but heap still counts under load",
             vec![w(BUSY, Some(heap())), w(BUSY, None)], false,
             vec![Retire(heap()), Keep]),
            ("a stuck loop goes even when it is the last",
             vec![w(BUSY, Some(stalled()))], false,
             vec![Retire(stalled())]),
            ("every stuck loop goes, and blocks the ELU rule",
             vec![w(CALM, Some(stalled())), w(CALM, Some(stalled())), w(BUSY, Some(elu())), w(CALM, None)], true,
             vec![Retire(stalled()), Retire(stalled()), spare(elu(), OneAtATime), Keep]),
        ];
        for (name, serving, retiring, want) in cases {
            assert_eq!(retirements(&serving, retiring), want, "{name}");
        }
    }

    #[test]
    fn a_worker_without_a_sample_is_not_busy_and_one_not_judged_is_kept() {
        let unsampled = Serving {
            elu: None,
            verdict: None,
        };
        // Not every worker busy: the ELU rule applies to the first.
        let serving = [w(BUSY, Some(elu())), unsampled];
        assert_eq!(
            retirements(&serving, false),
            [Choice::Retire(elu()), Choice::Keep]
        );
    }
}
