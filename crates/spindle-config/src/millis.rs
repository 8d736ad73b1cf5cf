//! How the validated types serialize a duration (`spindle check --json`, the logged config):
//! whole milliseconds, as the config writes it.

use std::time::Duration;

use serde::Serializer;

/// Durations are logged the way they are configured: whole milliseconds.
pub(crate) fn as_millis<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// A duration that may be off: milliseconds, `0` for none.
pub(crate) fn as_optional_millis<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    as_millis(&duration.unwrap_or_default(), serializer)
}
