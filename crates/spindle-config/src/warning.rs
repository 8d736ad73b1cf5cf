//! Warnings: what a config says that Spindle accepts but does not do.
//!
//! Watt configs must start unchanged, so a Watt key Spindle has no use for is not an error;
//! but silently ignoring it would let a user believe it works. Each one becomes a
//! [`Warning`] that the CLI prints once at start.

use std::fmt;
use std::path::PathBuf;

use crate::place::place;

/// One key accepted without effect, or with less effect than in Watt.
///
/// Displays as `<file>:<line>:<col>: <key path>: <message>`, as a [`crate::ConfigError`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The config file the key is in.
    pub file: PathBuf,
    /// 1-based line of the key.
    pub line: Option<usize>,
    /// 1-based column of the key, in characters.
    pub column: Option<usize>,
    /// Key path such as `applications[0].telemetry`.
    pub path: String,
    /// Why the key has no effect, and what to do instead when there is something.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = place(&self.file, self.line, self.column, &self.path);
        write!(f, "{place}: {}", self.message)
    }
}
