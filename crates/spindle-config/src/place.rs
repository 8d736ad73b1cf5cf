//! How an error or a warning names where it is: `<file>:<line>:<col>: <key path>`, without
//! the position when there is none and without the key path when it is empty.

use std::fmt;
use std::path::Path;

/// The place of a [`ConfigError`](crate::ConfigError) or a [`Warning`](crate::Warning),
/// before `: <message>`.
pub(crate) fn place<'a>(
    file: &'a Path,
    line: Option<usize>,
    column: Option<usize>,
    path: &'a str,
) -> impl fmt::Display + 'a {
    struct Place<'a> {
        file: &'a Path,
        position: Option<(usize, usize)>,
        path: &'a str,
    }
    impl fmt::Display for Place<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}", self.file.display())?;
            if let Some((line, column)) = self.position {
                write!(f, ":{line}:{column}")?;
            }
            if !self.path.is_empty() {
                write!(f, ": {}", self.path)?;
            }
            Ok(())
        }
    }
    Place {
        file,
        position: line.zip(column),
        path,
    }
}
