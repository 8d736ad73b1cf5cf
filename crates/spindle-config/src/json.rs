//! Parsing JSON text with errors in the crate's style.

use std::path::Path;

use serde_json::Value;

use crate::error::{ConfigError, ErrorKind};
use crate::locate;

/// The text without a UTF-8 byte order mark, which some Windows editors write and serde_json
/// rejects.
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Parses `text` (already without BOM), read from `file`.
pub(crate) fn parse(file: &Path, text: &str) -> Result<Value, ConfigError> {
    serde_json::from_str(text).map_err(|error| {
        let position = locate::from_byte_column(text, error.line(), error.column());
        let full = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full);
        ConfigError::file(
            file,
            ErrorKind::Syntax,
            format!("invalid JSON: {}", reword(message)),
        )
        .at(position)
    })
}

/// serde_json's syntax messages, reworded where they are cryptic or capitalized.
fn reword(message: &str) -> &str {
    match message {
        "EOF while parsing a value" => "unexpected end of file",
        "EOF while parsing an object" => "unexpected end of file inside an object",
        "EOF while parsing a list" => "unexpected end of file inside an array",
        "EOF while parsing a string" => "unexpected end of file inside a string",
        "expected ident" => "expected true, false or null",
        "expected value" => "expected a value",
        "key must be a string" => "expected a key in double quotes",
        "trailing characters" => "unexpected text after the end of the document",
        other => other,
    }
}

/// A found value as shown in messages: scalars verbatim (long strings cut), containers by kind.
pub(crate) fn describe(value: Option<&Value>) -> String {
    const LIMIT: usize = 60;
    match value {
        None => "nothing".to_owned(),
        Some(Value::Array(_)) => "an array".to_owned(),
        Some(Value::Object(_)) => "an object".to_owned(),
        Some(Value::String(s)) if s.chars().count() > LIMIT => {
            let cut: String = s.chars().take(LIMIT).collect();
            format!("{:?}...", cut)
        }
        Some(scalar) => scalar.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(text: &str) -> String {
        parse(Path::new("/x/c.json"), text).unwrap_err().to_string()
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        assert_eq!(
            error("{\n  \"a\": 1,\n}"),
            "/x/c.json:3:1: invalid JSON: trailing comma"
        );
        assert_eq!(
            error("{\"a\": tru}"),
            "/x/c.json:1:10: invalid JSON: expected true, false or null"
        );
        assert_eq!(
            error(""),
            "/x/c.json:1:1: invalid JSON: unexpected end of file"
        );
        assert_eq!(
            error("{\n  // comment\n}"),
            "/x/c.json:2:3: invalid JSON: expected a key in double quotes"
        );
    }

    #[test]
    fn long_strings_are_cut() {
        let long = "x".repeat(100);
        let shown = describe(Some(&json!(long)));
        assert!(shown.len() < 70, "{shown}");
    }
}
