//! What the scaler sees of one app on one tick.

use std::time::Duration;

/// How many workers an app may have.
#[derive(Debug, Clone, PartialEq)]
pub struct AppLimits {
    /// At least 1.
    pub min: u32,
    /// At least `min`; `min == max` means a static app, never scaled for load. An inverted
    /// pair is read as `min..=min`, so the two limits cannot fight each other.
    pub max: u32,
}

impl AppLimits {
    /// `max`, never below `min`.
    pub(crate) fn upper(&self) -> u32 {
        self.max.max(self.min)
    }

    /// Only [`Reason::Limits`](super::Reason::Limits) ever changes a static app.
    pub fn is_static(&self) -> bool {
        self.upper() == self.min
    }
}

/// One app as the driver sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct AppView {
    pub id: String,
    pub limits: AppLimits,
    /// Workers currently wanted: serving or starting, not stopping.
    pub workers: u32,
    /// Mean ELU (0–1) of the app's Ready workers over the driver's last window; `None`
    /// when there is no data yet. The app is not scaled for load without it.
    pub elu: Option<f64>,
    /// When the app's worker count last changed, by the scaler or anyone else (a config
    /// change, the management API). `None`: never since start-up.
    pub last_change: Option<Duration>,
}

impl AppView {
    /// The ELU to scale by, if this app may be scaled for load at `now`: it is dynamic,
    /// has a meaningful ELU and is out of its cooldown.
    pub(crate) fn load(&self, cooldown: Duration, now: Duration) -> Option<f64> {
        if self.limits.is_static() || self.in_cooldown(cooldown, now) {
            return None;
        }
        // NaN or infinity would poison every comparison and sort; treat it as no data.
        self.elu.filter(|elu| elu.is_finite())
    }

    /// Within `cooldown` of the last change. A change stamped after `now` (clocks read on
    /// different threads) counts as just now.
    fn in_cooldown(&self, cooldown: Duration, now: Duration) -> bool {
        self.last_change
            .is_some_and(|at| now.saturating_sub(at) < cooldown)
    }
}
