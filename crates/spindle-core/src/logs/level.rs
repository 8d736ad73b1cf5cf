//! Numeric log levels, pino's scale.
//!
//! pino-compatible tools (pino-pretty, log shippers) read `level` as a number, so the
//! coordinator's `tracing` levels and the levels given to plain worker output are mapped
//! onto the same scale as the pino lines that workers print themselves.

pub(crate) const TRACE: u64 = 10;
pub(crate) const DEBUG: u64 = 20;
pub(crate) const INFO: u64 = 30;
pub(crate) const WARN: u64 = 40;
pub(crate) const ERROR: u64 = 50;

pub(crate) const FATAL: u64 = 60;

/// The pino number of a level given by name, as pino writes it when an app's
/// `formatters.level` returns `{ level: label }` (any case: some upper-case it for their
/// log service).
pub(crate) fn from_name(name: &str) -> Option<u64> {
    [
        ("trace", TRACE),
        ("debug", DEBUG),
        ("info", INFO),
        ("warn", WARN),
        ("error", ERROR),
        ("fatal", FATAL),
    ]
    .into_iter()
    .find(|(known, _)| known.eq_ignore_ascii_case(name))
    .map(|(_, value)| value)
}

/// The pino number for a `tracing` level (tracing has no fatal).
pub(crate) fn from_tracing(level: &tracing::Level) -> u64 {
    match *level {
        tracing::Level::TRACE => TRACE,
        tracing::Level::DEBUG => DEBUG,
        tracing::Level::INFO => INFO,
        tracing::Level::WARN => WARN,
        tracing::Level::ERROR => ERROR,
    }
}

/// The name shown in pretty output.
///
/// pino allows custom levels with any number, so a number between two standard levels
/// takes the name of the next standard level up rather than being rejected.
pub(crate) fn name(level: f64) -> &'static str {
    if level <= TRACE as f64 {
        "TRACE"
    } else if level <= DEBUG as f64 {
        "DEBUG"
    } else if level <= INFO as f64 {
        "INFO"
    } else if level <= WARN as f64 {
        "WARN"
    } else if level <= ERROR as f64 {
        "ERROR"
    } else {
        "FATAL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_custom_levels_have_names() {
        assert_eq!(name(TRACE as f64), "TRACE");
        assert_eq!(name(INFO as f64), "INFO");
        assert_eq!(name(35.0), "WARN");
        assert_eq!(name(60.0), "FATAL");
        assert_eq!(name(1000.0), "FATAL");
        assert_eq!(from_tracing(&tracing::Level::WARN), WARN);
    }

    #[test]
    fn level_names_map_to_numbers_in_any_case() {
        assert_eq!(from_name("info"), Some(INFO));
        assert_eq!(from_name("WARN"), Some(WARN));
        assert_eq!(from_name("Fatal"), Some(FATAL));
        assert_eq!(from_name("trace"), Some(TRACE));
        assert_eq!(from_name("verbose"), None);
        assert_eq!(from_name(""), None);
    }
}
