//! The scaler's knobs: plain data, mapped from the `workers` config by the driver.

use std::time::Duration;

/// Scale an app up when its mean ELU is at least this (Watt's `scaleUpELU`).
pub const DEFAULT_SCALE_UP_ELU: f64 = 0.8;
/// Scale an app down when its mean ELU is at most this (Watt's `scaleDownELU`).
pub const DEFAULT_SCALE_DOWN_ELU: f64 = 0.2;
/// Long enough for a new worker to warm up and for the ELU window to see the app with its
/// new worker count, so the next decision judges the result of the last one (Watt's 20 s).
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(20);
/// Start-up keeps loops busy loading code and says nothing about load (Watt's 30 s).
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);

/// The thresholds and limits every app is scaled by.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The most workers all dynamic apps may have together; load never grows them past it.
    /// Static apps (`min == max`) are not counted: the scaler cannot change them. The
    /// driver's default is the machine's available parallelism.
    pub budget: u32,
    /// An app whose mean ELU (0–1) is at least this is busy and may grow.
    pub scale_up_elu: f64,
    /// An app whose mean ELU (0–1) is at most this is idle and may shrink.
    pub scale_down_elu: f64,
    /// After any change to an app's worker count, it is not changed for load again until
    /// this has passed. Limits are applied regardless.
    pub cooldown: Duration,
    /// After start-up, no load decisions at all for this long. Limits are applied regardless.
    pub grace_period: Duration,
}

impl Settings {
    /// The defaults, with `budget` workers for the dynamic apps.
    pub fn new(budget: u32) -> Settings {
        Settings {
            budget,
            scale_up_elu: DEFAULT_SCALE_UP_ELU,
            scale_down_elu: DEFAULT_SCALE_DOWN_ELU,
            cooldown: DEFAULT_COOLDOWN,
            grace_period: DEFAULT_GRACE_PERIOD,
        }
    }

    /// The bar for giving a worker away to a saturated app when the budget is full: looser
    /// than `scale_down_elu`, since a fully used budget should go to the apps that need it,
    /// but below `scale_up_elu` by the same margin, so a donor is clearly not busy itself.
    pub(crate) fn donor_elu(&self) -> f64 {
        self.scale_up_elu.midpoint(self.scale_down_elu)
    }
}
