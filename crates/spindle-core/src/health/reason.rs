//! Why a worker is unhealthy: a short label for metrics and a sentence for logs.

use std::fmt;
use std::time::Duration;

/// Why a worker was judged unhealthy.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The loop has not turned for `for_`: JavaScript is stuck.
    Stalled { for_: Duration },
    /// Utilization stayed above `max` for `checks` checks in a row; `elu` is over all of them.
    Elu { elu: f64, max: f64, checks: u32 },
    /// Heap used stayed above `max` of the limit for `checks` checks in a row; `used` and
    /// `limit` (bytes) are the latest figures.
    Heap {
        used: u64,
        limit: u64,
        max: f64,
        checks: u32,
    },
}

impl Reason {
    /// A stable label for metrics and log fields: `"stalled"`, `"elu"` or `"heap"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Stalled { .. } => "stalled",
            Reason::Elu { .. } => "elu",
            Reason::Heap { .. } => "heap",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Stalled { for_ } => {
                write!(f, "event loop stalled for {:.2} s", for_.as_secs_f64())
            }
            Reason::Elu { elu, max, checks } => write!(
                f,
                "event-loop utilization {:.1}% above {:.1}% for {}",
                elu * 100.0,
                max * 100.0,
                Checks(checks)
            ),
            Reason::Heap {
                used,
                limit,
                max,
                checks,
            } => write!(
                f,
                "heap used {:.1}% of {} limit above {:.1}% for {}",
                used as f64 / limit.max(1) as f64 * 100.0,
                Mib(limit),
                max * 100.0,
                Checks(checks)
            ),
        }
    }
}

/// "1 check", "5 checks".
struct Checks(u32);

impl fmt::Display for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 check"),
            n => write!(f, "{n} checks"),
        }
    }
}

/// Bytes in MiB, the unit heap limits are configured in: "256 MiB", "1.5 MiB".
struct Mib(u64);

impl fmt::Display for Mib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: u64 = 1024 * 1024;
        if self.0.is_multiple_of(MIB) {
            write!(f, "{} MiB", self.0 / MIB)
        } else {
            write!(f, "{:.1} MiB", self.0 as f64 / MIB as f64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn kinds_are_stable_labels() {
        let stalled = Reason::Stalled {
            for_: Duration::ZERO,
        };
        let elu = Reason::Elu {
            elu: 1.0,
            max: 0.99,
            checks: 5,
        };
        let heap = Reason::Heap {
            used: 1,
            limit: 1,
            max: 0.99,
            checks: 5,
        };
        assert_eq!(
            [stalled.kind(), elu.kind(), heap.kind()],
            ["stalled", "elu", "heap"]
        );
    }

    #[test]
    fn sentences_for_logs() {
        let stalled = Reason::Stalled {
            for_: Duration::from_millis(1250),
        };
        assert_eq!(stalled.to_string(), "event loop stalled for 1.25 s");

        let elu = Reason::Elu {
            elu: 0.996,
            max: 0.99,
            checks: 5,
        };
        assert_eq!(
            elu.to_string(),
            "event-loop utilization 99.6% above 99.0% for 5 checks"
        );

        let heap = Reason::Heap {
            used: 248_550_000,
            limit: 256 * MIB,
            max: 0.9,
            checks: 5,
        };
        assert_eq!(
            heap.to_string(),
            "heap used 92.6% of 256 MiB limit above 90.0% for 5 checks"
        );
    }

    #[test]
    fn sentences_with_odd_numbers() {
        let elu = Reason::Elu {
            elu: 1.0,
            max: 0.5,
            checks: 1,
        };
        assert_eq!(
            elu.to_string(),
            "event-loop utilization 100.0% above 50.0% for 1 check"
        );
        let heap = Reason::Heap {
            used: 3 * MIB / 2,
            limit: 3 * MIB / 2,
            max: 0.99,
            checks: 10,
        };
        assert_eq!(
            heap.to_string(),
            "heap used 100.0% of 1.5 MiB limit above 99.0% for 10 checks"
        );
    }
}
