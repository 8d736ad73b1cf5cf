//! The checks every validation step shares: a raw number or string to the typed value
//! (a port, a duration, a count, a share), or the error that names it.
//!
//! A leaf: the steps import it and it imports none of them. Each check takes the
//! [`Reporter`] only, so that the section types' own readers (`server`'s timeouts, say) can use
//! it without the whole validation context.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::error::{ConfigError, ErrorKind, Reporter};
use crate::integer::Integer;
use crate::keypath::KeyPath;
use crate::number::Number;

/// The error about a value that has the right type but is not allowed.
pub(crate) fn invalid(at: &KeyPath, message: String, report: &Reporter<'_>) -> ConfigError {
    report.at_value(at, ErrorKind::InvalidValue, message)
}

/// An address or host name to listen on: not empty, no whitespace. Whether it resolves is
/// found when the server binds.
pub(crate) fn hostname(
    value: String,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<String, ConfigError> {
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(invalid(
            at,
            format!("expected a hostname, got {value:?}"),
            report,
        ));
    }
    Ok(value)
}

/// A TCP port; `0` asks the system for a free one.
pub(crate) fn port(
    value: Integer,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<u16, ConfigError> {
    u16::try_from(value.0).map_err(|_| {
        let message = format!("expected a port number (0-65535), got {value}");
        invalid(at, message, report)
    })
}

/// A duration in milliseconds, `0` included.
pub(crate) fn millis(
    value: Integer,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<Duration, ConfigError> {
    u64::try_from(value.0)
        .map(Duration::from_millis)
        .map_err(|_| {
            let message = if value.0 < 0 {
                format!("expected a non-negative number of milliseconds, got {value}")
            } else {
                format!("expected at most {} milliseconds, got {value}", u64::MAX)
            };
            invalid(at, message, report)
        })
}

/// A timeout or deadline that must leave some time: at least 1 ms.
pub(crate) fn positive_millis(
    value: Integer,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<Duration, ConfigError> {
    at_least_one(value, "number of milliseconds", at, report)?;
    millis(value, at, report)
}

/// A count (workers, checks, starts, requests): at least 1, at most what a `u32` holds.
pub(crate) fn positive(
    value: Integer,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<NonZeroU32, ConfigError> {
    at_least_one(value, "integer", at, report)?;
    u32::try_from(value.0)
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or_else(|| {
            let message = format!(
                "expected a positive integer up to {}, got {value}",
                u32::MAX
            );
            invalid(at, message, report)
        })
}

/// `expected a positive <what>` below 1.
fn at_least_one(
    value: Integer,
    what: &str,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<(), ConfigError> {
    if value.0 < 1 {
        let message = format!("expected a positive {what}, got {value}");
        return Err(invalid(at, message, report));
    }
    Ok(())
}

/// A share such as an ELU: above 0 (0 would fail every check), at most 1.
pub(crate) fn fraction(
    value: Number,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<f64, ConfigError> {
    if value.0 > 0.0 && value.0 <= 1.0 {
        return Ok(value.0);
    }
    let message = format!("expected a number greater than 0 and at most 1, got {value}");
    Err(invalid(at, message, report))
}
