//! Dynamic scaling: how many workers each app should have, judged from the event-loop
//! utilization (ELU) its workers show from outside.
//!
//! About once a second a driver calls [`decide`] with every app's [`AppView`] (its limits,
//! its worker count, its mean ELU over the driver's window, when its count last changed),
//! the [`Settings`], the start-up time and the time now, and applies the [`Decision`]s it
//! gets back. Everything here is a pure function of those inputs, so tests run on
//! simulated time; the driver owns the clock, the ELU windows and the workers.
//!
//! # Rules
//!
//! At most one change per app per tick, always by one worker except for limits.
//!
//! 1. **Limits**, always, even in the grace period or the cooldown and regardless of the
//!    budget: an app below `min` is raised to `min`, one above `max` lowered to `max`
//!    ([`Reason::Limits`]). These are what the config asks for.
//! 2. **Grace**: within `grace_period` of start-up there are no other decisions.
//!    Loading code keeps loops busy and says nothing about load.
//! 3. Only a *dynamic* app (`min < max`) that has an ELU and is out of its **cooldown**
//!    (`now − last_change ≥ cooldown`; exactly `cooldown` is out) is scaled for load.
//! 4. **Scale down**: an app with ELU ≤ `scale_down_elu` above its `min` loses one worker
//!    ([`Reason::Idle`]). Several apps may shrink on one tick.
//! 5. **Scale up**: an app with ELU ≥ `scale_up_elu` below its `max` gains one worker
//!    ([`Reason::Busy`]) while the dynamic apps' total, counting this tick's downs, stays
//!    within `budget`. The busiest apps go first, equal ELUs in app id order.
//! 6. **Move**: if the budget stopped a busy app, the idlest other app with ELU below
//!    `(scale_up_elu + scale_down_elu) / 2`, above its `min`, and out of its cooldown gives
//!    it one worker ([`Reason::Moved`] for the donor, [`Reason::Busy`] for the receiver).
//!    The donor's load spread over one worker fewer (`elu × n / (n − 1)`) must stay below
//!    `scale_up_elu`, or the worker would only move back. At most one move per tick.
//!
//! Decisions come out scale-downs first, so a driver applying them in order frees budget
//! before it spends it, each group by app id. Static apps (`min == max`) only ever get
//! limits and do not count toward the budget, since nothing here can change them.
//!
//! # How this differs from Watt
//!
//! Watt's scaler (`scaling-algorithm.js`) is the model; these are the changes, each for a
//! flaw seen there:
//! - **The cooldown is per app.** Watt's is global: one change anywhere blocks every app
//!   for 20 s, so one busy app waits on another's unrelated change.
//! - **Several apps may grow on one tick**, within the budget. Watt grows one app per
//!   cycle, so a burst across apps takes a cooldown per app to absorb.
//! - **A full budget is reallocated** (rule 6). Watt never moves workers: once `total` is
//!   reached, a saturated app waits until some other app drops to its idle threshold.
//! - **Limits ignore the cooldown and the grace period.** Watt applies them only when a
//!   scaling check runs, which its cooldown blocks.
//! - **One ELU per app, chosen by the driver.** Watt judges up on a 10 s mean and down on a
//!   60 s mean, and lets scale-down win when both fire; here the thresholds cannot both hold
//!   (as long as `scale_down_elu < scale_up_elu`), so there is nothing to arbitrate.
//! - **Grace is for the scaler after start-up**, not per worker: a new worker's warm-up is
//!   covered by the app's cooldown, and the driver counts only Ready workers' ELU.
//! - **Thresholds are inclusive** (≥, ≤), where Watt's are strict; ties between equally
//!   busy apps go by app id, where Watt's go to the app with fewer workers.
//! - **No memory check.** Watt also requires an app's mean heap to fit in free memory;
//!   a driver that wants that can lower the budget it passes in.
//!
//! # Parts
//! - `settings`: [`Settings`] and its `DEFAULT_*` values.
//! - `view`: [`AppView`] and [`AppLimits`], one app as the driver sees it.
//! - `decision`: [`Decision`] and [`Reason`], with sentences for logs and labels for metrics.
//! - `decide`: [`decide`], the rules.

mod decide;
mod decision;
mod settings;
#[cfg(test)]
mod tests;
mod view;

pub use decide::decide;
pub use decision::{Decision, Reason};
pub use settings::{
    Settings, DEFAULT_COOLDOWN, DEFAULT_GRACE_PERIOD, DEFAULT_SCALE_DOWN_ELU, DEFAULT_SCALE_UP_ELU,
};
pub use view::{AppLimits, AppView};
