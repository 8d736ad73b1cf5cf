//! JSON string escaping straight into the output line.
//!
//! Every log line is built in one `String`; escaping in place avoids a temporary
//! allocation per field that `serde_json::to_string` would cost on the hot path.

use std::fmt::Write as _;

/// Appends `s` to `out` as a quoted JSON string.
///
/// Non-ASCII text is kept as UTF-8 (valid JSON, and readable in a terminal); only the
/// characters JSON forbids raw are escaped.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `i` is a char boundary.
        out.push_str(&s[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        push_json_str(&mut out, s);
        out
    }

    #[test]
    fn escapes_what_json_requires() {
        assert_eq!(escaped(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
        assert_eq!(
            escaped("a\tb\u{1}\u{1f}\u{8}\u{c}"),
            r#""a\tb\u0001\u001f\b\f""#
        );
        assert_eq!(escaped("héllo ✓ 🦀"), "\"héllo ✓ 🦀\"");
        assert_eq!(escaped(""), "\"\"");
    }

    #[test]
    fn round_trips_through_a_json_parser() {
        let nasty = "q\"b\\s/n\nr\rt\t\u{0}\u{7f}é🦀\u{2028}";
        let parsed: String = serde_json::from_str(&escaped(nasty)).unwrap();
        assert_eq!(parsed, nasty);
    }
}
