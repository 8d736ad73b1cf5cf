//! JSON-lines output, readable by pino tooling and log shippers.

use std::fmt::Write as _;

use super::escape::push_json_str;
use super::labels::Labels;
use super::pino::PinoLine;
use super::render::Event;
use super::{level, Stream};

/// Renders a worker line: a pino line passes through with its labels added, anything
/// else is wrapped as the `msg` of a new record.
///
/// Every line gets what pino and Watt put on theirs, so queries written for Watt's logs
/// work: `pid`, `hostname`, and the app id as `name` as well as `app`. A field the line
/// already has is left as the application wrote it.
pub(crate) fn worker_line(
    out: &mut String,
    labels: &Labels,
    stream: Stream,
    line: &str,
    time: u64,
) {
    if let Some(pino) = PinoLine::parse(line) {
        // Splice after the `{` instead of re-serializing: the application's bytes (key
        // order, number formatting, a level written as a name) stay exactly as it wrote them.
        let line = line.trim();
        out.push('{');
        for (key, fragment) in [
            ("app", &labels.json_app),
            ("worker", &labels.json_worker),
            ("name", &labels.json_name),
            ("pid", &labels.origin.json_pid),
            ("hostname", &labels.origin.json_hostname),
        ] {
            if !pino.has(key) {
                out.push_str(fragment);
            }
        }
        out.push_str(&line[1..]);
        return;
    }
    let (level, stream) = match stream {
        Stream::Stdout => (level::INFO, "stdout"),
        Stream::Stderr => (level::ERROR, "stderr"),
    };
    let _ = write!(out, "{{\"level\":{level},\"time\":{time},");
    out.push_str(&labels.origin.json_pid);
    out.push_str(&labels.origin.json_hostname);
    out.push_str(&labels.json_name);
    out.push_str(&labels.json_app);
    out.push_str(&labels.json_worker);
    let _ = write!(out, "\"stream\":\"{stream}\",\"msg\":");
    push_json_str(out, line);
    out.push('}');
}

/// Renders a coordinator event.
pub(crate) fn event(out: &mut String, event: &Event<'_>) {
    let _ = write!(out, "{{\"level\":{},\"time\":{},", event.level, event.time);
    // An event's own field of the same name wins, so no key is written twice.
    let has = |name: &str| event.fields.iter().any(|(field, _)| *field == name);
    if !has("pid") {
        out.push_str(&event.origin.json_pid);
    }
    if !has("hostname") {
        out.push_str(&event.origin.json_hostname);
    }
    out.push_str("\"target\":");
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
    use super::super::test_support::test_origin;
    use super::*;

    const T: u64 = 1_700_000_000_123;

    fn worker(stream: Stream, line: &str) -> String {
        let mut out = String::new();
        let labels = Labels::new("web", "web:1", test_origin());
        worker_line(&mut out, &labels, stream, line, T);
        out
    }

    #[test]
    fn pino_lines_pass_through_with_labels_spliced_in() {
        assert_eq!(
            worker(
                Stream::Stdout,
                r#"{"level":30,"time":5,"pid":9,"hostname":"box","msg":"up"}"#
            ),
            r#"{"app":"web","worker":"web:1","name":"web","level":30,"time":5,"pid":9,"hostname":"box","msg":"up"}"#
        );
        // Stream does not matter: pino may log to stderr too, and its level is kept.
        assert_eq!(
            worker(Stream::Stderr, r#"  {"level":50, "msg":"boom"} "#),
            r#"{"app":"web","worker":"web:1","name":"web","pid":4242,"hostname":"testhost","level":50, "msg":"boom"}"#
        );
    }

    #[test]
    fn labels_the_line_already_has_are_not_added_again() {
        assert_eq!(
            worker(
                Stream::Stdout,
                r#"{"level":30,"app":"own","name":"svc","pid":1,"msg":"x"}"#
            ),
            r#"{"worker":"web:1","hostname":"testhost","level":30,"app":"own","name":"svc","pid":1,"msg":"x"}"#
        );
        assert_eq!(
            worker(
                Stream::Stdout,
                r#"{"worker":"w","app":"a","name":"n","pid":1,"hostname":"h","level":30}"#
            ),
            r#"{"worker":"w","app":"a","name":"n","pid":1,"hostname":"h","level":30}"#
        );
    }

    #[test]
    fn a_level_name_is_a_pino_line_kept_as_written() {
        // What pino prints with `formatters: { level: (label) => ({ level: label }) }`.
        assert_eq!(
            worker(
                Stream::Stdout,
                r#"{"level":"warn","time":5,"pid":9,"hostname":"box","msg":"slow"}"#
            ),
            r#"{"app":"web","worker":"web:1","name":"web","level":"warn","time":5,"pid":9,"hostname":"box","msg":"slow"}"#
        );
        assert_eq!(
            worker(Stream::Stdout, r#"{"level":"INFO","msg":"upper"}"#),
            r#"{"app":"web","worker":"web:1","name":"web","pid":4242,"hostname":"testhost","level":"INFO","msg":"upper"}"#
        );
    }

    #[test]
    fn an_unknown_level_name_is_wrapped_as_text() {
        let out = worker(Stream::Stdout, r#"{"level":"loud","msg":"x"}"#);
        assert!(out.starts_with(r#"{"level":30,"#), "{out}");
        assert!(
            out.ends_with(r#""msg":"{\"level\":\"loud\",\"msg\":\"x\"}"}"#),
            "{out}"
        );
    }

    #[test]
    fn plain_lines_are_wrapped_with_pid_hostname_and_name() {
        assert_eq!(
            worker(Stream::Stdout, "say \"hi\" C:\\tmp\ttab\u{1b}[1m ✓ 🦀"),
            r#"{"level":30,"time":1700000000123,"pid":4242,"hostname":"testhost","name":"web","app":"web","worker":"web:1","stream":"stdout","msg":"say \"hi\" C:\\tmp\ttab\u001b[1m ✓ 🦀"}"#
        );
    }

    #[test]
    fn stderr_lines_are_errors() {
        assert_eq!(
            worker(Stream::Stderr, "oops"),
            r#"{"level":50,"time":1700000000123,"pid":4242,"hostname":"testhost","name":"web","app":"web","worker":"web:1","stream":"stderr","msg":"oops"}"#
        );
    }

    #[test]
    fn json_that_is_not_a_pino_line_is_wrapped() {
        let out = worker(Stream::Stdout, r#"{"msg":"no level"}"#);
        assert!(out.ends_with(r#""msg":"{\"msg\":\"no level\"}"}"#), "{out}");
    }

    #[test]
    fn events_carry_pid_hostname_target_message_and_typed_fields() {
        let origin = test_origin();
        let render = |fields: &[(&'static str, FieldValue)]| {
            let mut out = String::new();
            event(
                &mut out,
                &Event {
                    level: level::WARN,
                    time: T,
                    origin: &origin,
                    target: "spindle_core::supervisor",
                    msg: "worker \"slow\"",
                    fields,
                },
            );
            out
        };
        assert_eq!(
            render(&[
                ("ok", FieldValue::Bool(false)),
                ("worker", FieldValue::Str("web:1".into())),
            ]),
            r#"{"level":40,"time":1700000000123,"pid":4242,"hostname":"testhost","target":"spindle_core::supervisor","msg":"worker \"slow\"","ok":false,"worker":"web:1"}"#
        );
        // A field of the event named `pid` (a child process's, say) replaces the process's.
        assert_eq!(
            render(&[("pid", FieldValue::Uint(42))]),
            r#"{"level":40,"time":1700000000123,"hostname":"testhost","target":"spindle_core::supervisor","msg":"worker \"slow\"","pid":42}"#
        );
    }
}
