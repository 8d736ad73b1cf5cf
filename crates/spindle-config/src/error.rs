//! The crate's error: one line that names the file, position, key and problem.

use std::path::{Path, PathBuf};

use crate::keypath::KeyPath;
use crate::locate::{Locator, Position};
use crate::place::place;
use crate::warning::Warning;

/// Why a configuration could not be loaded.
///
/// Displays as one line, `<file>:<line>:<col>: <key path>: <message>`, for example
/// `/srv/spindle.json:4:18: applications[0].workers: expected a positive integer, got 0`.
/// The position is left out when there is none (an unreadable file, a problem with a
/// directory), and so is the key path (syntax errors, `.env` files, no-config mode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", place(.file, *.line, *.column, .path))]
pub struct ConfigError {
    /// The file the problem is in: the config file, a `.env` file, a `package.json`, or the
    /// served directory when there is no config file.
    pub file: PathBuf,
    /// 1-based line of the offending value (of the key for an unknown key, of the enclosing
    /// object for a missing one).
    pub line: Option<usize>,
    /// 1-based column, counted in characters.
    pub column: Option<usize>,
    /// Key path such as `applications[0].workers`; empty when the problem is not about a key.
    pub path: String,
    /// Short lowercase description that includes the bad value and what was expected.
    pub message: String,
    /// What kind of problem this is, for callers that branch on it.
    pub kind: ErrorKind,
}

/// The kinds of [`ConfigError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file or directory could not be read.
    Io,
    /// The config file is not valid JSON.
    Syntax,
    /// A key the schema does not know.
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// A key given twice in one object.
    DuplicateKey,
    /// A value of the wrong JSON type.
    InvalidType,
    /// A value of the right type but outside what is allowed.
    InvalidValue,
    /// Two applications with the same id.
    DuplicateId,
    /// A `{VAR}` placeholder whose variable is not set.
    MissingVariable,
    /// No entrypoint can be chosen, or the choice is contradictory.
    Entrypoint,
    /// An application path, entry file, env file or autoload directory does not exist.
    NotFound,
    /// A `.env` file that cannot be parsed.
    EnvFile,
}

impl ConfigError {
    /// An error about a whole file or directory, with no position or key.
    pub(crate) fn file(file: &Path, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            path: String::new(),
            message: message.into(),
            kind,
        }
    }

    pub(crate) fn at(mut self, position: Position) -> Self {
        self.line = Some(position.line);
        self.column = Some(position.column);
        self
    }
}

/// Builds errors for one config source, placing them with its [`Locator`].
///
/// Without a locator (no-config mode) there are no keys to name, so errors name only the file
/// (the served directory).
#[derive(Clone, Copy)]
pub(crate) struct Reporter<'a> {
    file: &'a Path,
    locator: Option<&'a Locator>,
    /// Where the config read sits in the file: the `runtime` key of an application's own
    /// config (Watt's wrapped form), else the root.
    prefix: Option<&'a KeyPath>,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(file: &'a Path, locator: Option<&'a Locator>) -> Self {
        Self {
            file,
            locator,
            prefix: None,
        }
    }

    /// The same reporter for a config found at `prefix` in the file.
    pub(crate) fn within(self, prefix: &'a KeyPath) -> Self {
        Self {
            prefix: Some(prefix),
            ..self
        }
    }

    fn full(&self, path: &KeyPath) -> KeyPath {
        match self.prefix {
            Some(prefix) => prefix.join(path),
            None => path.clone(),
        }
    }

    /// An error about the value at `path`.
    pub(crate) fn at_value(
        &self,
        path: &KeyPath,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> ConfigError {
        self.build(path, kind, message.into(), Locator::value)
    }

    /// An error about the key of `path` itself (an unknown or repeated key).
    pub(crate) fn at_key(
        &self,
        path: &KeyPath,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> ConfigError {
        self.build(path, kind, message.into(), Locator::key)
    }

    /// A warning about the key of `path`.
    pub(crate) fn warn(&self, path: &KeyPath, message: impl Into<String>) -> Warning {
        let path = &self.full(path);
        let at = self.locator.map(|locator| locator.key(path));
        Warning {
            file: self.file.to_owned(),
            line: at.map(|at| at.line),
            column: at.map(|at| at.column),
            path: path.to_string(),
            message: message.into(),
        }
    }

    fn build(
        &self,
        path: &KeyPath,
        kind: ErrorKind,
        message: String,
        find: fn(&Locator, &KeyPath) -> Position,
    ) -> ConfigError {
        let path = &self.full(path);
        let error = ConfigError::file(self.file, kind, message);
        match self.locator {
            Some(locator) => ConfigError {
                path: path.to_string(),
                ..error.at(find(locator, path))
            },
            None => error,
        }
    }
}

/// An I/O error as a short lowercase phrase (`file not found`), without the OS's
/// capitalized text and error number where a plain phrase says it all.
pub(crate) fn io_message(error: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match error.kind() {
        K::NotFound => "not found".to_owned(),
        K::PermissionDenied => "permission denied".to_owned(),
        K::IsADirectory => "is a directory".to_owned(),
        K::NotADirectory => "not a directory".to_owned(),
        K::InvalidData => "not valid UTF-8".to_owned(),
        _ => lowercase_first(&error.to_string()),
    }
}

pub(crate) fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_leaves_out_missing_parts() {
        let error = ConfigError::file(Path::new("/x/demo"), ErrorKind::NotFound, "no entry");
        assert_eq!(error.to_string(), "/x/demo: no entry");
        let error = ConfigError {
            path: "server.port".into(),
            ..error.at(Position { line: 3, column: 7 })
        };
        assert_eq!(error.to_string(), "/x/demo:3:7: server.port: no entry");
    }
}
