//! `health` and the fault keys (`maxFailedStarts`, `maxInFlightPerWorker`, `queueTimeout`,
//! `exitOnUnhandledErrors`, `standbyWorkers`): from raw values to each application's
//! [`HealthConfig`] and [`FaultConfig`].
//!
//! Two steps. First each level, the top level and then every application, is read into a
//! [`Layer`]: every value written there is checked on its own and kept with its key path.
//! Then an application's settings are its own layer over the top-level one over the defaults,
//! key by key ([`resolve`]), and the rules that relate two keys are checked on the result.
//! Such an error points at whichever of the two values was written closer to the application
//! (its own over the top level's over a default): the one most likely to be the slip.

use std::fmt::Display;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::bytesize::{format_bytes, ByteSize};
use crate::check::{fraction, invalid, millis, positive, positive_millis};
use crate::error::{ConfigError, ErrorKind, Reporter};
use crate::health::{FaultConfig, HealthConfig, MAX_STANDBY_WORKERS};
use crate::integer::Integer;
use crate::keypath::KeyPath;
use crate::raw::health::RawHealth;

/// Smallest `health.sampleInterval`.
const MIN_SAMPLE_INTERVAL: Duration = Duration::from_millis(10);
/// Smallest `health.maxHeapTotal`: well below what any real application needs, it catches a
/// unit slip (`"maxHeapTotal": 512` meant as megabytes).
const MIN_HEAP_TOTAL: u64 = 16 << 20;
/// Smallest `health.maxYoungGeneration`: Node takes the limit in whole MiB, and 0 would mean
/// V8's default rather than the value asked for.
const MIN_YOUNG_GENERATION: u64 = 1 << 20;

/// Where a value was written, least specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    TopLevel,
    Application,
}

/// A value as written: checked on its own, with its key path and its text for messages.
#[derive(Debug, Clone)]
struct Given<T> {
    value: T,
    at: KeyPath,
    level: Level,
    shown: String,
}

/// The fault keys as written at one level; `None` when not written there.
#[derive(Debug, Default)]
pub(crate) struct RawFaults {
    pub(crate) max_failed_starts: Option<Integer>,
    pub(crate) max_in_flight_per_worker: Option<Integer>,
    pub(crate) queue_timeout: Option<Integer>,
    pub(crate) exit_on_unhandled_errors: Option<bool>,
    pub(crate) standby_workers: Option<Integer>,
    pub(crate) response_timeout: Option<Integer>,
}

/// The health and fault values written at one level, each checked on its own. The default
/// layer is empty (an autoloaded application, which has no keys of its own).
#[derive(Debug, Clone, Default)]
pub(crate) struct Layer {
    enabled: Option<Given<bool>>,
    sample_interval: Option<Given<Duration>>,
    interval: Option<Given<Duration>>,
    grace_period: Option<Given<Duration>>,
    max_unhealthy_checks: Option<Given<u32>>,
    max_elu: Option<Given<f64>>,
    max_heap_used: Option<Given<f64>>,
    max_heap_total: Option<Given<u64>>,
    max_young_generation: Option<Given<u64>>,
    max_stall: Option<Given<Duration>>,
    max_failed_starts: Option<Given<u32>>,
    max_in_flight_per_worker: Option<Given<u32>>,
    queue_timeout: Option<Given<Duration>>,
    exit_on_unhandled_errors: Option<Given<bool>>,
    standby_workers: Option<Given<u32>>,
    response_timeout: Option<Given<Option<Duration>>>,
}

impl Layer {
    /// Checks the values written in the object at `at` (the root, or one application).
    pub(crate) fn read(
        health: Option<RawHealth>,
        faults: RawFaults,
        at: &KeyPath,
        level: Level,
        report: &Reporter<'_>,
    ) -> Result<Self, ConfigError> {
        let health_at = at.key("health");
        let h = health.unwrap_or_default();
        let r = Reader { level, report };
        Ok(Self {
            enabled: r.read(h.enabled, health_at.key("enabled"), as_is)?,
            sample_interval: r.read(
                h.sample_interval,
                health_at.key("sampleInterval"),
                sample_interval,
            )?,
            interval: r.read(h.interval, health_at.key("interval"), millis)?,
            grace_period: r.read(h.grace_period, health_at.key("gracePeriod"), millis)?,
            max_unhealthy_checks: r.read(
                h.max_unhealthy_checks,
                health_at.key("maxUnhealthyChecks"),
                count,
            )?,
            max_elu: r.read(h.max_elu, health_at.key("maxELU"), fraction)?,
            max_heap_used: r.read(h.max_heap_used, health_at.key("maxHeapUsed"), fraction)?,
            max_heap_total: r.read(
                h.max_heap_total,
                health_at.key("maxHeapTotal"),
                |value, at, report| bytes(value, MIN_HEAP_TOTAL, at, report),
            )?,
            max_young_generation: r.read(
                h.max_young_generation,
                health_at.key("maxYoungGeneration"),
                |value, at, report| bytes(value, MIN_YOUNG_GENERATION, at, report),
            )?,
            max_stall: r.read(h.max_stall, health_at.key("maxStall"), millis)?,
            max_failed_starts: r.read(
                faults.max_failed_starts,
                at.key("maxFailedStarts"),
                count,
            )?,
            max_in_flight_per_worker: r.read(
                faults.max_in_flight_per_worker,
                at.key("maxInFlightPerWorker"),
                count,
            )?,
            queue_timeout: r.read(
                faults.queue_timeout,
                at.key("queueTimeout"),
                positive_millis,
            )?,
            exit_on_unhandled_errors: r.read(
                faults.exit_on_unhandled_errors,
                at.key("exitOnUnhandledErrors"),
                as_is,
            )?,
            standby_workers: r.read(
                faults.standby_workers,
                at.key("standbyWorkers"),
                standby_workers,
            )?,
            response_timeout: r.read(
                faults.response_timeout,
                at.key("responseTimeout"),
                |value, at, report| Ok(Some(millis(value, at, report)?).filter(|d| !d.is_zero())),
            )?,
        })
    }
}

struct Reader<'a, 'c> {
    level: Level,
    report: &'a Reporter<'c>,
}

impl Reader<'_, '_> {
    /// Checks one value, if written, and keeps it with where it was written.
    fn read<R: Display, T>(
        &self,
        raw: Option<R>,
        at: KeyPath,
        check: impl FnOnce(R, &KeyPath, &Reporter<'_>) -> Result<T, ConfigError>,
    ) -> Result<Option<Given<T>>, ConfigError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let shown = raw.to_string();
        let value = check(raw, &at, self.report)?;
        Ok(Some(Given {
            value,
            at,
            level: self.level,
            shown,
        }))
    }
}

/// One application's settings: its own layer over the top-level one over the defaults, with
/// the rules between keys checked.
pub(crate) fn resolve(
    top: &Layer,
    own: &Layer,
    report: &Reporter<'_>,
) -> Result<(HealthConfig, FaultConfig), ConfigError> {
    let health = HealthConfig::default();
    let faults = FaultConfig::default();
    let sample_interval = pick(
        &own.sample_interval,
        &top.sample_interval,
        health.sample_interval,
    );
    let interval = pick(&own.interval, &top.interval, health.interval);
    let max_stall = pick(&own.max_stall, &top.max_stall, health.max_stall);
    let max_heap_total = pick(
        &own.max_heap_total,
        &top.max_heap_total,
        health.max_heap_total,
    );
    let max_young_generation = pick(
        &own.max_young_generation,
        &top.max_young_generation,
        health.max_young_generation,
    );

    if sample_interval.value > interval.value {
        return Err(broken(
            &sample_interval,
            format!("expected at most health.interval ({})", ms(interval.value)),
            &interval,
            format!(
                "expected at least health.sampleInterval ({})",
                ms(sample_interval.value)
            ),
            report,
        ));
    }
    // A stall shows as a sample that did not come: it takes up to two intervals to see one.
    if max_stall.value < sample_interval.value * 2 {
        return Err(broken(
            &max_stall,
            format!(
                "expected at least twice health.sampleInterval ({})",
                ms(sample_interval.value * 2)
            ),
            &sample_interval,
            format!(
                "expected at most half of health.maxStall ({})",
                ms(max_stall.value / 2)
            ),
            report,
        ));
    }
    if max_young_generation.value >= max_heap_total.value {
        return Err(broken(
            &max_young_generation,
            format!(
                "expected less than health.maxHeapTotal ({})",
                format_bytes(max_heap_total.value)
            ),
            &max_heap_total,
            format!(
                "expected more than health.maxYoungGeneration ({})",
                format_bytes(max_young_generation.value)
            ),
            report,
        ));
    }

    let health = HealthConfig {
        enabled: pick(&own.enabled, &top.enabled, health.enabled).value,
        sample_interval: sample_interval.value,
        interval: interval.value,
        grace_period: pick(&own.grace_period, &top.grace_period, health.grace_period).value,
        max_unhealthy_checks: pick(
            &own.max_unhealthy_checks,
            &top.max_unhealthy_checks,
            health.max_unhealthy_checks,
        )
        .value,
        max_elu: pick(&own.max_elu, &top.max_elu, health.max_elu).value,
        max_heap_used: pick(&own.max_heap_used, &top.max_heap_used, health.max_heap_used).value,
        max_heap_total: max_heap_total.value,
        max_young_generation: max_young_generation.value,
        max_stall: max_stall.value,
    };
    let standby = pick(
        &own.standby_workers,
        &top.standby_workers,
        faults.standby_workers,
    );
    let faults = FaultConfig {
        max_failed_starts: pick(
            &own.max_failed_starts,
            &top.max_failed_starts,
            faults.max_failed_starts,
        )
        .value,
        max_in_flight_per_worker: pick(
            &own.max_in_flight_per_worker,
            &top.max_in_flight_per_worker,
            faults.max_in_flight_per_worker,
        )
        .value,
        queue_timeout: pick(&own.queue_timeout, &top.queue_timeout, faults.queue_timeout).value,
        exit_on_unhandled_errors: pick(
            &own.exit_on_unhandled_errors,
            &top.exit_on_unhandled_errors,
            faults.exit_on_unhandled_errors,
        )
        .value,
        standby_workers: standby.value,
        standby_after_failure: standby.given.is_none(),
        response_timeout: pick(
            &own.response_timeout,
            &top.response_timeout,
            faults.response_timeout,
        )
        .value,
    };
    Ok((health, faults))
}

/// One merged setting, and the written value it came from (`None`: the default).
struct Setting<'a, T> {
    value: T,
    given: Option<&'a Given<T>>,
}

impl<T> Setting<'_, T> {
    /// How close to the application the value was written; a default is farthest.
    fn level(&self) -> Option<Level> {
        self.given.map(|given| given.level)
    }
}

fn pick<'a, T: Copy>(
    own: &'a Option<Given<T>>,
    top: &'a Option<Given<T>>,
    default: T,
) -> Setting<'a, T> {
    let given = own.as_ref().or(top.as_ref());
    Setting {
        value: given.map_or(default, |given| given.value),
        given,
    }
}

/// A rule between `subject` (the key the rule is stated for) and `other` does not hold. The
/// error is about `subject`, or about `other` when that was written closer to the application;
/// each comes with what was expected of it.
fn broken<A, B>(
    subject: &Setting<'_, A>,
    subject_expected: String,
    other: &Setting<'_, B>,
    other_expected: String,
    report: &Reporter<'_>,
) -> ConfigError {
    let subject_given = subject.given.map(|given| (&given.at, &given.shown));
    let other_given = other.given.map(|given| (&given.at, &given.shown));
    let (given, expected) = if other.level() > subject.level() {
        (other_given, other_expected)
    } else {
        (subject_given, subject_expected)
    };
    // The defaults obey every rule, so the blamed value was always written.
    let (at, shown) = given.map_or(
        (KeyPath::root(), "the default".to_owned()),
        |(at, shown)| (at.clone(), shown.clone()),
    );
    let message = format!("{expected}, got {shown}");
    report.at_value(&at, ErrorKind::InvalidValue, message)
}

/// `250 ms`; half milliseconds (from halving) keep their `.5`.
fn ms(duration: Duration) -> String {
    let micros = duration.as_micros();
    match micros % 1000 {
        0 => format!("{} ms", micros / 1000),
        rest => format!("{}.{} ms", micros / 1000, rest / 100),
    }
}

fn as_is(value: bool, _: &KeyPath, _: &Reporter<'_>) -> Result<bool, ConfigError> {
    Ok(value)
}

fn count(value: Integer, at: &KeyPath, report: &Reporter<'_>) -> Result<u32, ConfigError> {
    positive(value, at, report).map(NonZeroU32::get)
}

/// A number of standby workers: none up to [`MAX_STANDBY_WORKERS`].
fn standby_workers(
    value: Integer,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<u32, ConfigError> {
    match u32::try_from(value.0) {
        Ok(count) if count <= MAX_STANDBY_WORKERS => Ok(count),
        _ => {
            let message =
                format!("expected an integer between 0 and {MAX_STANDBY_WORKERS}, got {value}");
            Err(invalid(at, message, report))
        }
    }
}

fn sample_interval(
    value: Integer,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<Duration, ConfigError> {
    let duration = millis(value, at, report)?;
    if duration < MIN_SAMPLE_INTERVAL {
        let message = format!("expected at least {}, got {value}", ms(MIN_SAMPLE_INTERVAL));
        return Err(invalid(at, message, report));
    }
    Ok(duration)
}

fn bytes(
    value: ByteSize,
    min: u64,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<u64, ConfigError> {
    if value.bytes < min.into() {
        let message = format!("expected at least {}, got {value}", format_bytes(min));
        return Err(invalid(at, message, report));
    }
    u64::try_from(value.bytes).map_err(|_| {
        let message = format!("expected at most {}, got {value}", format_bytes(u64::MAX));
        invalid(at, message, report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_obey_every_rule() {
        let health = HealthConfig::default();
        assert!(health.sample_interval >= MIN_SAMPLE_INTERVAL);
        assert!(health.sample_interval <= health.interval);
        assert!(health.max_stall >= health.sample_interval * 2);
        assert!(health.max_heap_total >= MIN_HEAP_TOTAL);
        assert!(health.max_young_generation >= MIN_YOUNG_GENERATION);
        assert!(health.max_young_generation < health.max_heap_total);
        for share in [health.max_elu, health.max_heap_used] {
            assert!(share > 0.0 && share <= 1.0);
        }
        let faults = FaultConfig::default();
        assert!(faults.max_failed_starts > 0 && faults.max_in_flight_per_worker > 0);
        assert!(!faults.queue_timeout.is_zero());
        assert!(faults.standby_workers <= MAX_STANDBY_WORKERS);
    }

    #[test]
    fn milliseconds_show_halves() {
        assert_eq!(ms(Duration::from_millis(250)), "250 ms");
        assert_eq!(ms(Duration::from_millis(1001) / 2), "500.5 ms");
    }
}
