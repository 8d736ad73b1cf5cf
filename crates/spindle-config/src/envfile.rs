//! `.env` files, read with dotenvy into maps (never into the process environment).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use crate::error::{io_message, ConfigError, ErrorKind};
use crate::locate::Position;

/// Variables of one `.env` file, in file order (a later line overrides an earlier one).
pub(crate) type EnvVars = BTreeMap<String, String>;

/// Reads `path` if it exists; a missing file is an empty set of variables.
pub(crate) fn read_optional(path: &Path) -> Result<EnvVars, ConfigError> {
    match fs::read_to_string(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(EnvVars::new()),
        result => parse(path, result),
    }
}

/// Reads `path`, which must exist. The caller places the error on the key that named it.
pub(crate) fn read_required(path: &Path) -> Result<EnvVars, ReadError> {
    match fs::read_to_string(path) {
        Err(error) => Err(ReadError::Io(error)),
        result => parse(path, result).map_err(ReadError::Parse),
    }
}

/// Why a required env file could not be used.
pub(crate) enum ReadError {
    /// It could not be read at all.
    Io(io::Error),
    /// It was read but is not a valid `.env` file.
    Parse(ConfigError),
}

fn parse(path: &Path, text: io::Result<String>) -> Result<EnvVars, ConfigError> {
    let text = text.map_err(|error| {
        ConfigError::file(
            path,
            ErrorKind::Io,
            format!("cannot read: {}", io_message(&error)),
        )
    })?;
    let mut vars = EnvVars::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                vars.insert(key, value);
            }
            Err(dotenvy::Error::LineParse(line, index)) => {
                // dotenvy gives the whole line for a bad key, only the value for a bad
                // value: find either, and the line's key.
                let found =
                    locate_line(&text, &line, index).or_else(|| locate_value(&text, &line, index));
                let key = found.as_ref().and_then(|(_, physical)| key_of(physical));
                let mut error = ConfigError::file(path, ErrorKind::EnvFile, invalid_line(key));
                if let Some((position, _)) = found {
                    error = error.at(position);
                }
                return Err(error);
            }
            Err(other) => {
                return Err(ConfigError::file(
                    path,
                    ErrorKind::EnvFile,
                    crate::error::lowercase_first(&other.to_string()),
                ))
            }
        }
    }
    Ok(vars)
}

/// The message for a line that does not parse. Never its text: a `.env` holds secrets, and
/// errors end up in logs. Its key, when it has one, helps find it besides the position.
fn invalid_line(key: Option<&str>) -> String {
    match key {
        Some(key) => {
            format!("invalid value for {key:?} (expected KEY=value; the value is not shown)")
        }
        None => "invalid line (expected KEY=value; the line is not shown, it may hold a secret)"
            .to_owned(),
    }
}

/// The key of a physical `.env` line (`export` aside), when it looks like one.
fn key_of(physical: &str) -> Option<&str> {
    let (key, _) = physical.split_once('=')?;
    let key = key.trim();
    let key = key.strip_prefix("export ").map_or(key, str::trim);
    let plausible = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    plausible.then_some(key)
}

/// Where a failing value (`value`, failing at its byte `index`) sits in `text`: on the
/// first physical line that has it right after its `=`. With that line.
fn locate_value<'t>(text: &'t str, value: &str, index: usize) -> Option<(Position, &'t str)> {
    let first = value.lines().next().unwrap_or(value);
    for (number, physical) in text.split('\n').enumerate() {
        let Some((before, after)) = physical.split_once('=') else {
            continue;
        };
        let value_at = after.len() - after.trim_start().len();
        if !first.is_empty() && after[value_at..].starts_with(first) {
            let failing = value.get(..index).unwrap_or(value).chars().count();
            let column =
                before.chars().count() + 1 + after[..value_at].chars().count() + failing + 1;
            return Some((
                Position {
                    line: number + 1,
                    column,
                },
                physical,
            ));
        }
    }
    None
}

/// Finds where dotenvy's failing line (`line`, possibly spanning several physical lines of a
/// quoted value, possibly cut at a comment) and its byte `index` sit in `text`. dotenvy gives
/// no line numbers, so the first line start where that text appears is taken: an identical
/// earlier line would have failed first.
fn locate_line<'t>(text: &'t str, line: &str, index: usize) -> Option<(Position, &'t str)> {
    let mut line_start = 0;
    for (number, physical) in text.split('\n').enumerate() {
        if text[line_start..].starts_with(line) {
            let before = line.get(..index.min(line.len())).unwrap_or(line);
            let newlines = before.matches('\n').count();
            let last = before.rsplit('\n').next().unwrap_or("");
            return Some((
                Position {
                    line: number + 1 + newlines,
                    column: last.chars().count() + 1,
                },
                physical,
            ));
        }
        line_start += physical.len() + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parse_text(text: &str) -> Result<EnvVars, ConfigError> {
        parse(Path::new("/x/.env"), Ok(text.to_owned()))
    }

    #[test]
    fn an_invalid_line_is_named_by_its_key_never_its_value() {
        let error = parse_text("A=1\nDB_PASSWORD=s3cret value\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"DB_PASSWORD\""), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        let error = parse_text("A=1\nhunter2 is the password\n")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.starts_with("/x/.env:2:"), "{error}");
    }

    #[test]
    fn parses_quotes_comments_and_overrides() {
        let vars = parse_text("# comment\nA=1\nB=\"two words\" # trailing\nA=3\n").unwrap();
        assert_eq!(vars.get("A").map(String::as_str), Some("3"));
        assert_eq!(vars.get("B").map(String::as_str), Some("two words"));
    }

    #[test]
    fn reports_the_failing_line() {
        let error = parse_text("A=1\n\nNOT A VALID LINE\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "/x/.env:3:5: invalid line (expected KEY=value; the line is not shown, it may hold \
             a secret)"
        );
        assert_eq!(error.file, PathBuf::from("/x/.env"));
    }

    #[test]
    fn missing_optional_file_is_empty() {
        let vars = read_optional(Path::new("/definitely/not/here/.env")).unwrap();
        assert!(vars.is_empty());
    }
}
