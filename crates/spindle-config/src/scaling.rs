//! Validated worker scaling: the range each application's worker count may move in, and the
//! dynamic scaler's settings (Watt's `workers`, per application and at the top level).

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Serialize;

/// Whether applications that do not say otherwise scale dynamically (top-level
/// `workers.dynamic`, Watt's default).
pub const DEFAULT_DYNAMIC_WORKERS: bool = false;
/// The fewest workers of a dynamically scaled application that gives no `minimum` (Watt's
/// default).
pub const DEFAULT_MINIMUM_WORKERS: NonZeroU32 = NonZeroU32::MIN;
/// `workers.scaleUpELU`: an application whose workers' event-loop utilization averages above
/// this gets one more worker (Watt's default).
pub const DEFAULT_SCALE_UP_ELU: f64 = 0.8;
/// `workers.scaleDownELU`: an application whose workers' event-loop utilization averages below
/// this loses one worker (Watt's default).
pub const DEFAULT_SCALE_DOWN_ELU: f64 = 0.2;
/// `workers.cooldown`: the least time between two scaling actions (Watt's default).
pub const DEFAULT_SCALING_COOLDOWN: Duration = Duration::from_millis(20_000);
/// `workers.gracePeriod`: how long a new worker is left out of scaling decisions (Watt's
/// default).
pub const DEFAULT_SCALING_GRACE_PERIOD: Duration = Duration::from_millis(30_000);

/// `workers.total` when it is not set: the machine's available parallelism (Watt's
/// `os.availableParallelism()`), or 1 when it cannot be known.
pub fn default_total_workers() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

/// The dynamic scaler's settings: the top-level `workers` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingConfig {
    /// The top-level `workers.dynamic`: applications whose `workers` is a number (or not
    /// given) scale dynamically too. An application's own `workers` object decides for
    /// itself; [`AppScaling::dynamic`] is what counts for each application.
    pub dynamic: bool,
    /// The most workers of all applications together the scaler may run; at least the sum of
    /// every application's [`AppScaling::min`] when any application scales dynamically.
    pub total: u32,
    /// Event-loop utilization (above 0, at most 1) above which an application scales up.
    pub scale_up_elu: f64,
    /// Event-loop utilization (above 0, below `scale_up_elu`) below which an application
    /// scales down.
    pub scale_down_elu: f64,
    /// The least time between two scaling actions.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub cooldown: Duration,
    /// How long after it starts a worker is left out of scaling decisions.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub grace_period: Duration,
}

impl Default for ScalingConfig {
    fn default() -> Self {
        Self {
            dynamic: DEFAULT_DYNAMIC_WORKERS,
            total: default_total_workers(),
            scale_up_elu: DEFAULT_SCALE_UP_ELU,
            scale_down_elu: DEFAULT_SCALE_DOWN_ELU,
            cooldown: DEFAULT_SCALING_COOLDOWN,
            grace_period: DEFAULT_SCALING_GRACE_PERIOD,
        }
    }
}

/// The range one application's worker count may move in. A fixed count has
/// `min == max` (the application's `workers`) and `dynamic` false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppScaling {
    /// The fewest workers.
    pub min: NonZeroU32,
    /// The most workers; at least `min`.
    pub max: NonZeroU32,
    /// Whether the scaler adds and removes workers between `min` and `max`.
    pub dynamic: bool,
}

impl AppScaling {
    /// Exactly `workers` workers, never scaled.
    pub fn fixed(workers: NonZeroU32) -> Self {
        Self {
            min: workers,
            max: workers,
            dynamic: false,
        }
    }

    /// `workers` kept within `min..=max`: a dynamically scaled application never starts
    /// outside its range (Watt's scaler moves it in on its first check).
    pub fn clamp(&self, workers: NonZeroU32) -> NonZeroU32 {
        workers.clamp(self.min, self.max)
    }
}
