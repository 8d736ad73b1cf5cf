//! `{VAR}` and `{{VAR}}` placeholders in config strings; `\{VAR}` is the text `{VAR}`.
//!
//! They are expanded on the JSON value before anything is typed, so a placeholder works in
//! any string, including numbers written as strings (`"port": "{PORT}"`). Expansion is a
//! single pass: a variable's value is inserted as is, never expanded again.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{ConfigError, ErrorKind, Reporter};
use crate::keypath::{KeyPath, Segment};

/// Where placeholder values come from.
pub(crate) struct Variables<'a> {
    /// The process environment; it wins over the `.env` file.
    pub(crate) env: &'a BTreeMap<String, String>,
    /// The root `.env` file's variables.
    pub(crate) dotenv: &'a BTreeMap<String, String>,
    /// The root `.env` file's path, named when a variable is missing.
    pub(crate) dotenv_path: &'a Path,
    /// The config's directory, always available as `PLT_ROOT` (as in Watt).
    pub(crate) root: &'a Path,
}

impl Variables<'_> {
    fn get(&self, name: &str) -> Option<String> {
        if name == "PLT_ROOT" {
            return Some(self.root.display().to_string());
        }
        self.env
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .cloned()
    }
}

/// Expands every placeholder in every string value of `document`.
pub(crate) fn expand(
    document: &mut Value,
    vars: &Variables<'_>,
    report: Reporter<'_>,
) -> Result<(), ConfigError> {
    walk(document, &mut KeyPath::root(), vars, report)
}

fn walk(
    value: &mut Value,
    path: &mut KeyPath,
    vars: &Variables<'_>,
    report: Reporter<'_>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(text) => {
            *text = expand_str(text, |name| vars.get(name)).map_err(|name| {
                report.at_value(
                    path,
                    ErrorKind::MissingVariable,
                    format!(
                        "environment variable {name} is not set (and {} does not define it)",
                        vars.dotenv_path.display()
                    ),
                )
            })?;
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                path.push(Segment::Index(index));
                walk(item, path, vars, report)?;
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                path.push(Segment::Key(key.clone()));
                walk(item, path, vars, report)?;
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Replaces the placeholders of `text`; on a missing variable, returns its name.
pub(crate) fn expand_str(
    text: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let tail = &rest[start..];
        // `\{NAME}` is the text `{NAME}`: a backslash before a placeholder escapes it.
        if start > 0 && rest.as_bytes()[start - 1] == b'\\' {
            if let Some((_, len)) = placeholder(tail) {
                out.push_str(&rest[..start - 1]);
                out.push_str(&tail[..len]);
                rest = &tail[len..];
                continue;
            }
        }
        out.push_str(&rest[..start]);
        match placeholder(tail) {
            Some((name, len)) => {
                out.push_str(&get(name).ok_or_else(|| name.to_owned())?);
                rest = &tail[len..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// If `tail` starts with `{{NAME}}` or `{NAME}`, the name and the placeholder's length.
fn placeholder(tail: &str) -> Option<(&str, usize)> {
    for (open, close) in [("{{", "}}"), ("{", "}")] {
        if let Some(inner) = tail.strip_prefix(open) {
            let len = inner
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if len > 0 && inner[len..].starts_with(close) {
                return Some((&inner[..len], open.len() + len + close.len()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str) -> Result<String, String> {
        expand_str(text, |name| match name {
            "HOST" => Some("example.com".into()),
            "PORT" => Some("8080".into()),
            "LOOP" => Some("{PORT}".into()),
            _ => None,
        })
    }

    #[test]
    fn replaces_single_and_double_braces() {
        assert_eq!(expand("{HOST}:{{PORT}}").unwrap(), "example.com:8080");
        assert_eq!(expand("http://{HOST}/").unwrap(), "http://example.com/");
    }

    #[test]
    fn leaves_other_braces_alone() {
        assert_eq!(expand("{ not a var }").unwrap(), "{ not a var }");
        assert_eq!(expand("{}{-}{").unwrap(), "{}{-}{");
        assert_eq!(expand("{{PORT}").unwrap(), "{8080");
    }

    #[test]
    fn a_backslash_makes_a_placeholder_text() {
        assert_eq!(expand(r"\{HOST}:{PORT}").unwrap(), "{HOST}:8080");
        assert_eq!(expand(r"a\{{PORT}}b").unwrap(), "a{{PORT}}b");
        assert_eq!(
            expand(r"\{MISSING}").unwrap(),
            "{MISSING}",
            "escaped: never looked up"
        );
        // Not before a placeholder: the backslash stays.
        assert_eq!(expand(r"c:\dir\{ x }").unwrap(), r"c:\dir\{ x }");
    }

    #[test]
    fn does_not_expand_twice() {
        assert_eq!(expand("{LOOP}").unwrap(), "{PORT}");
    }

    #[test]
    fn names_the_missing_variable() {
        assert_eq!(expand("a{MISSING}b").unwrap_err(), "MISSING");
    }
}
