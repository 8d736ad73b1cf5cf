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
#[cfg(test)]
pub(crate) const FATAL: u64 = 60;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracing_levels_map_onto_pinos_scale() {
        assert_eq!(from_tracing(&tracing::Level::WARN), WARN);
        assert_eq!(from_tracing(&tracing::Level::TRACE), TRACE);
        // The names pretty output shows for these numbers are spindle_logline's.
        assert_eq!(spindle_logline::level_name(WARN as f64), "WARN");
        assert_eq!(spindle_logline::level_number("Fatal"), Some(FATAL));
    }
}
