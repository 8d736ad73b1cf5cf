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
}
