//! JSON-lines output, readable by pino tooling and log shippers.

use std::fmt::Write as _;

use super::escape::push_json_str;
use super::labels::Labels;
use super::pino::PinoLine;
use super::render::Event;
use super::{level, Stream};

/// Renders a worker line: a pino line passes through with its labels added, anything
/// else is wrapped as the `msg` of a new record.
pub(crate) fn worker_line(
    out: &mut String,
    labels: &Labels,
    stream: Stream,
    line: &str,
    time: u64,
) {
    if let Some(pino) = PinoLine::parse(line) {
        // Splice after the `{` instead of re-serializing: the application's bytes (key
        // order, number formatting) stay exactly as it wrote them.
        let line = line.trim();
        out.push('{');
        if !pino.has("app") {
            out.push_str(&labels.json_app);
        }
        if !pino.has("worker") {
            out.push_str(&labels.json_worker);
        }
        out.push_str(&line[1..]);
        return;
    }
    let (level, stream) = match stream {
        Stream::Stdout => (level::INFO, "stdout"),
        Stream::Stderr => (level::ERROR, "stderr"),
    };
    let _ = write!(out, "{{\"level\":{level},\"time\":{time},");
    out.push_str(&labels.json_app);
    out.push_str(&labels.json_worker);
    let _ = write!(out, "\"stream\":\"{stream}\",\"msg\":");
    push_json_str(out, line);
    out.push('}');
}

/// Renders a coordinator event.
pub(crate) fn event(out: &mut String, event: &Event<'_>) {
    let _ = write!(
        out,
        "{{\"level\":{},\"time\":{},\"target\":",
        event.level, event.time
    );
    push_json_str(out, event.target);
    out.push_str(",\"msg\":");
    push_json_str(out, event.msg);
    for (name, value) in event.fields {
        out.push(',');
        push_json_str(out, name);
        out.push(':');
        value.push_json(out);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::super::field::FieldValue;
    use super::*;

    const T: u64 = 1_700_000_000_123;

    fn worker(stream: Stream, line: &str) -> String {
        let mut out = String::new();
        worker_line(&mut out, &Labels::new("web", "web:1"), stream, line, T);
        out
    }

    #[test]
    fn pino_lines_pass_through_with_labels_spliced_in() {
        assert_eq!(
            worker(
                Stream::Stdout,
                r#"{"level":30,"time":5,"pid":9,"msg":"up"}"#
            ),
            r#"{"app":"web","worker":"web:1","level":30,"time":5,"pid":9,"msg":"up"}"#
        );
        // Stream does not matter: pino may log to stderr too, and its level is kept.
        assert_eq!(
            worker(Stream::Stderr, r#"  {"level":50, "msg":"boom"} "#),
            r#"{"app":"web","worker":"web:1","level":50, "msg":"boom"}"#
        );
    }

    #[test]
    fn labels_the_line_already_has_are_not_added_again() {
        assert_eq!(
            worker(Stream::Stdout, r#"{"level":30,"app":"own","msg":"x"}"#),
            r#"{"worker":"web:1","level":30,"app":"own","msg":"x"}"#
        );
        assert_eq!(
            worker(Stream::Stdout, r#"{"worker":"w","app":"a","level":30}"#),
            r#"{"worker":"w","app":"a","level":30}"#
        );
    }

    #[test]
    fn plain_lines_are_wrapped_and_escaped() {
        assert_eq!(
            worker(Stream::Stdout, "say \"hi\" C:\\tmp\ttab\u{1b}[1m ✓ 🦀"),
            r#"{"level":30,"time":1700000000123,"app":"web","worker":"web:1","stream":"stdout","msg":"say \"hi\" C:\\tmp\ttab\u001b[1m ✓ 🦀"}"#
        );
    }

    #[test]
    fn stderr_lines_are_errors() {
        assert_eq!(
            worker(Stream::Stderr, "oops"),
            r#"{"level":50,"time":1700000000123,"app":"web","worker":"web:1","stream":"stderr","msg":"oops"}"#
        );
    }

    #[test]
    fn json_that_is_not_a_pino_line_is_wrapped() {
        let out = worker(Stream::Stdout, r#"{"msg":"no level"}"#);
        assert!(out.ends_with(r#""msg":"{\"msg\":\"no level\"}"}"#), "{out}");
    }

    #[test]
    fn events_carry_target_message_and_typed_fields() {
        let mut out = String::new();
        event(
            &mut out,
            &Event {
                level: level::WARN,
                time: T,
                target: "spindle_core::supervisor",
                msg: "worker \"slow\"",
                fields: &[
                    ("pid", FieldValue::Uint(42)),
                    ("ok", FieldValue::Bool(false)),
                    ("worker", FieldValue::Str("web:1".into())),
                ],
            },
        );
        assert_eq!(
            out,
            r#"{"level":40,"time":1700000000123,"target":"spindle_core::supervisor","msg":"worker \"slow\"","pid":42,"ok":false,"worker":"web:1"}"#
        );
    }
}
