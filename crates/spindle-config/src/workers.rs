//! `workers`: each application's worker count and the range it may scale in
//! ([`AppScaling`]), and the top-level scaler settings ([`ScalingConfig`]).
//!
//! The top level is read first ([`Scaling::read`]). Its `minimum` and `maximum` are the range
//! of an application whose plain number scales because of the top-level `dynamic`, and what an
//! application's own object falls back to key by key. Once every application is known, their
//! minimums must fit in `total` ([`Scaling::check_total`]). As for health, a rule between two
//! keys is reported at whichever was written closer to the application.

use std::num::NonZeroU32;

use crate::check::{fraction, millis, positive};
use crate::config::DEFAULT_WORKERS;
use crate::context::Context;
use crate::declared::Declared;
use crate::error::{ConfigError, ErrorKind};
use crate::integer::Integer;
use crate::keypath::KeyPath;
use crate::raw::workers::{RawAppWorkers, RawWorkerRange, RawWorkers};
use crate::scaling::{
    default_total_workers, AppScaling, ScalingConfig, DEFAULT_DYNAMIC_WORKERS,
    DEFAULT_MINIMUM_WORKERS, DEFAULT_SCALE_DOWN_ELU, DEFAULT_SCALE_UP_ELU,
    DEFAULT_SCALING_COOLDOWN, DEFAULT_SCALING_GRACE_PERIOD,
};
use crate::supervision::Level;

/// What to write instead of `static` with a range, as said in messages.
const STATIC_OR_RANGE: &str =
    "use static for a fixed number of workers, or minimum and maximum for a range";

/// A `minimum` or `maximum` in effect, and where it was written (`None`: the default).
#[derive(Debug, Clone)]
struct Bound {
    value: NonZeroU32,
    written: Option<(KeyPath, Level)>,
}

impl Bound {
    /// How close to the application the value was written; a default is farthest.
    fn level(&self) -> Option<Level> {
        self.written.as_ref().map(|(_, level)| *level)
    }
}

/// The top-level `workers`, checked.
#[derive(Debug)]
pub(crate) struct Scaling {
    pub(crate) config: ScalingConfig,
    minimum: Bound,
    maximum: Bound,
    /// Whether `total` was written (else it is the available parallelism).
    total_given: bool,
    /// Workers of an application that does not say (`static`, or Watt's `workers: N`).
    pub(crate) default_workers: NonZeroU32,
}

impl Scaling {
    /// Checks the top-level `workers` object.
    pub(crate) fn read(raw: RawWorkers, cx: &Context<'_>) -> Result<Self, ConfigError> {
        let at = KeyPath::root().key("workers");
        let total_given = raw.total.is_some();
        let default_workers = match raw.fixed {
            Some(fixed) => positive(fixed, &at.key("static"), &cx.report)?,
            None => DEFAULT_WORKERS,
        };
        let total = match raw.total {
            Some(total) => positive(total, &at.key("total"), &cx.report)?,
            None => NonZeroU32::new(default_total_workers()).unwrap_or(NonZeroU32::MIN),
        };
        let up_at = at.key("scaleUpELU");
        let down_at = at.key("scaleDownELU");
        let scale_up = raw
            .scale_up_elu
            .map(|value| fraction(value, &up_at, &cx.report))
            .transpose()?;
        let scale_down = raw
            .scale_down_elu
            .map(|value| fraction(value, &down_at, &cx.report))
            .transpose()?;
        let cooldown = raw
            .cooldown
            .map(|value| millis(value, &at.key("cooldown"), &cx.report))
            .transpose()?;
        let grace_period = raw
            .grace_period
            .map(|value| millis(value, &at.key("gracePeriod"), &cx.report))
            .transpose()?;
        let minimum = bound(raw.minimum, &at, "minimum", Level::TopLevel, cx)?;
        let maximum = bound(raw.maximum, &at, "maximum", Level::TopLevel, cx)?;

        let up = scale_up.unwrap_or(DEFAULT_SCALE_UP_ELU);
        let down = scale_down.unwrap_or(DEFAULT_SCALE_DOWN_ELU);
        if down >= up {
            // The defaults are in order, so at least one of the two was written.
            let (at, message) = if scale_down.is_some() {
                (
                    down_at,
                    format!("expected less than workers.scaleUpELU ({up}), got {down}"),
                )
            } else {
                (
                    up_at,
                    format!("expected more than workers.scaleDownELU ({down}), got {up}"),
                )
            };
            return Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message));
        }
        let minimum = minimum.unwrap_or(Bound {
            value: DEFAULT_MINIMUM_WORKERS,
            written: None,
        });
        let maximum = maximum.unwrap_or(Bound {
            value: total,
            written: None,
        });
        ordered(&minimum, &maximum, cx)?;

        Ok(Self {
            config: ScalingConfig {
                dynamic: raw.dynamic.unwrap_or(DEFAULT_DYNAMIC_WORKERS),
                total: total.get(),
                scale_up_elu: up,
                scale_down_elu: down,
                cooldown: cooldown.unwrap_or(DEFAULT_SCALING_COOLDOWN),
                grace_period: grace_period.unwrap_or(DEFAULT_SCALING_GRACE_PERIOD),
            },
            minimum,
            maximum,
            total_given,
            default_workers,
        })
    }

    /// One application's `workers`, written at `at`: the number to start with, and its range.
    pub(crate) fn application(
        &self,
        raw: RawAppWorkers,
        at: &KeyPath,
        cx: &Context<'_>,
    ) -> Result<(NonZeroU32, AppScaling), ConfigError> {
        match raw {
            RawAppWorkers::Count(count) => Ok(self.plain(positive(count, at, &cx.report)?)),
            RawAppWorkers::Range(range) => self.range(range, at, cx),
        }
    }

    /// An application whose `workers` is a number (or not given): that many, fixed; or, with
    /// the top-level `dynamic`, scaled within the top-level range, starting at the number kept
    /// within it.
    pub(crate) fn plain(&self, workers: NonZeroU32) -> (NonZeroU32, AppScaling) {
        if !self.config.dynamic {
            return (workers, AppScaling::fixed(workers));
        }
        let scaling = AppScaling {
            min: self.minimum.value,
            max: self.maximum.value,
            dynamic: true,
        };
        (scaling.clamp(workers), scaling)
    }

    /// An application's `workers` object.
    fn range(
        &self,
        raw: RawWorkerRange,
        at: &KeyPath,
        cx: &Context<'_>,
    ) -> Result<(NonZeroU32, AppScaling), ConfigError> {
        let fixed = raw
            .fixed
            .map(|value| positive(value, &at.key("static"), &cx.report))
            .transpose()?;
        let minimum = bound(raw.minimum, at, "minimum", Level::Application, cx)?;
        let maximum = bound(raw.maximum, at, "maximum", Level::Application, cx)?;

        if let Some(fixed) = fixed {
            for (key, given) in [("minimum", &minimum), ("maximum", &maximum)] {
                if given.is_some() {
                    let message =
                        format!("cannot be given together with static ({STATIC_OR_RANGE})");
                    let error = cx
                        .report
                        .at_key(&at.key(key), ErrorKind::InvalidValue, message);
                    return Err(error);
                }
            }
            if raw.dynamic == Some(true) {
                let message = format!("cannot be true together with static ({STATIC_OR_RANGE})");
                let error =
                    cx.report
                        .at_value(&at.key("dynamic"), ErrorKind::InvalidValue, message);
                return Err(error);
            }
            return Ok((fixed, AppScaling::fixed(fixed)));
        }

        let ranged = minimum.is_some() || maximum.is_some();
        if !raw.dynamic.unwrap_or(ranged || self.config.dynamic) {
            // Scaling turned off: the count is fixed at `minimum`, as Watt's `static` defaults
            // to it.
            if let (Some(minimum), Some(maximum)) = (&minimum, &maximum) {
                ordered(minimum, maximum, cx)?;
            }
            let workers = minimum.map_or(DEFAULT_WORKERS, |minimum| minimum.value);
            return Ok((workers, AppScaling::fixed(workers)));
        }
        let minimum = minimum.unwrap_or_else(|| self.minimum.clone());
        let maximum = maximum.unwrap_or_else(|| self.maximum.clone());
        ordered(&minimum, &maximum, cx)?;
        let scaling = AppScaling {
            min: minimum.value,
            max: maximum.value,
            dynamic: true,
        };
        Ok((scaling.min, scaling))
    }

    /// When any application scales dynamically, every application's minimum (a fixed count for
    /// the others) must fit in `total` together.
    pub(crate) fn check_total(
        &self,
        apps: &[Declared],
        cx: &Context<'_>,
    ) -> Result<(), ConfigError> {
        if !apps.iter().any(|app| app.scaling.dynamic) {
            return Ok(());
        }
        let sum: u64 = apps
            .iter()
            .map(|app| u64::from(app.scaling.min.get()))
            .sum();
        let total = self.config.total;
        if sum <= u64::from(total) {
            return Ok(());
        }
        let shown = if self.total_given {
            total.to_string()
        } else {
            format!("{total} (the default: this machine's available parallelism)")
        };
        let message =
            format!("expected at least the applications' minimums added up ({sum}), got {shown}");
        let at = KeyPath::root().key("workers").key("total");
        Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message))
    }
}

/// `minimum` or `maximum` of the object at `at`, if written there.
fn bound(
    raw: Option<Integer>,
    at: &KeyPath,
    key: &str,
    level: Level,
    cx: &Context<'_>,
) -> Result<Option<Bound>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let at = at.key(key);
    let value = positive(raw, &at, &cx.report)?;
    Ok(Some(Bound {
        value,
        written: Some((at, level)),
    }))
}

/// `minimum` must not exceed `maximum`; else the one written closer to the application is
/// wrong (the minimum when both were written at the same level).
fn ordered(minimum: &Bound, maximum: &Bound, cx: &Context<'_>) -> Result<(), ConfigError> {
    if minimum.value <= maximum.value {
        return Ok(());
    }
    let (blamed, message) = if maximum.level() > minimum.level() {
        let message = format!(
            "expected at least workers.minimum ({}), got {}",
            minimum.value, maximum.value
        );
        (maximum, message)
    } else {
        let note = match maximum.written {
            Some(_) => "",
            None => ", the default: workers.total",
        };
        let message = format!(
            "expected at most workers.maximum ({}{note}), got {}",
            maximum.value, minimum.value
        );
        (minimum, message)
    };
    // The default minimum (1) is never above a maximum, so the blamed value was written.
    let at = blamed
        .written
        .as_ref()
        .map_or_else(KeyPath::root, |(at, _)| at.clone());
    Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_obey_every_rule() {
        let config = ScalingConfig::default();
        assert!(config.total >= 1);
        assert!(!config.dynamic);
        for elu in [config.scale_up_elu, config.scale_down_elu] {
            assert!(elu > 0.0 && elu <= 1.0);
        }
        assert!(config.scale_down_elu < config.scale_up_elu);
        assert!(DEFAULT_MINIMUM_WORKERS.get() <= config.total);
    }

    #[test]
    fn a_starting_count_is_kept_in_range() {
        let scaling = AppScaling {
            min: NonZeroU32::new(2).unwrap(),
            max: NonZeroU32::new(4).unwrap(),
            dynamic: true,
        };
        assert_eq!(scaling.clamp(NonZeroU32::MIN).get(), 2);
        assert_eq!(scaling.clamp(NonZeroU32::new(3).unwrap()).get(), 3);
        assert_eq!(scaling.clamp(NonZeroU32::new(9).unwrap()).get(), 4);
    }
}
