//! Human-readable output for terminals and `--pretty`:
//! `HH:MM:SS.mmm LEVEL <worker or target> │ msg key=value …`.
//!
//! Times are UTC (as pino-pretty shows them by default): the local offset needs the
//! platform's time-zone database, which this crate does not depend on.

use serde_json::Value;
pub(crate) use spindle_logline::app_colour;
use spindle_logline::{header, push_key, push_message, push_value, push_value_str, BOLD};

use super::field::FieldValue;
use super::labels::Labels;
use super::pino::PinoLine;
use super::render::Event;
use super::{level, Stream};

/// Renders a worker line, decoding pino lines into the same shape as everything else.
pub(crate) fn worker_line(
    out: &mut String,
    labels: &Labels,
    stream: Stream,
    line: &str,
    time: u64,
    colour: bool,
) {
    let label_colour = colour.then_some(labels.colour);
    let Some(pino) = PinoLine::parse(line) else {
        let level = match stream {
            Stream::Stdout => level::INFO,
            Stream::Stderr => level::ERROR,
        };
        header(out, Some(time), level as f64, &labels.worker, label_colour);
        push_message(out, line);
        return;
    };
    let level = pino.level().unwrap_or(level::INFO as f64);
    let time = pino.get("time").and_then(Value::as_u64).unwrap_or(time);
    header(out, Some(time), level, &labels.worker, label_colour);
    match pino.get("msg") {
        Some(Value::String(msg)) => push_message(out, msg),
        Some(other) => push_message(out, &other.to_string()),
        None => {}
    }
    for (key, value) in &pino.0 {
        if spindle_logline::HIDDEN_PINO_FIELDS.contains(&key.as_str()) {
            continue;
        }
        // The app's name is the worker label already; another name is worth showing.
        if key == "name" && value.as_str() == Some(&labels.app) {
            continue;
        }
        push_key(out, key, colour);
        push_value(out, value);
    }
}

/// Renders a coordinator event.
pub(crate) fn event(out: &mut String, event: &Event<'_>, colour: bool) {
    header(
        out,
        Some(event.time),
        event.level as f64,
        event.target,
        colour.then_some(BOLD),
    );
    push_message(out, event.msg);
    for (name, value) in event.fields {
        push_key(out, name, colour);
        match value {
            FieldValue::Str(s) => push_value_str(out, s),
            other => other.push_json(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::test_origin;
    use super::*;

    /// 2023-11-14 22:13:20.123 UTC.
    const T: u64 = 1_700_000_000_123;

    fn worker(stream: Stream, line: &str, colour: bool) -> String {
        let mut out = String::new();
        worker_line(
            &mut out,
            &Labels::new("web", "web:1", test_origin()),
            stream,
            line,
            T,
            colour,
        );
        out
    }

    #[test]
    fn plain_lines_show_time_level_worker_and_message() {
        assert_eq!(
            worker(Stream::Stdout, "listening on 3000", false),
            "22:13:20.123 INFO  web:1 │ listening on 3000"
        );
        assert_eq!(
            worker(Stream::Stderr, "oh no", false),
            "22:13:20.123 ERROR web:1 │ oh no"
        );
    }

    #[test]
    fn pino_lines_are_decoded() {
        let line = r#"{"level":40,"time":1700000000999,"pid":7,"hostname":"h","msg":"slow\nquery","ms":812,"sql":"select 1","ok":true,"req":{"id":3}}"#;
        assert_eq!(
            worker(Stream::Stdout, line, false),
            r#"22:13:20.999 WARN  web:1 │ slow\nquery ms=812 sql="select 1" ok=true req={"id":3}"#
        );
    }

    #[test]
    fn level_names_and_the_app_name_are_read_like_pino_numbers() {
        let line = r#"{"level":"warn","time":1700000000999,"name":"web","msg":"slow"}"#;
        assert_eq!(
            worker(Stream::Stdout, line, false),
            "22:13:20.999 WARN  web:1 │ slow"
        );
        let line = r#"{"level":30,"time":1700000000999,"name":"billing","msg":"x"}"#;
        assert_eq!(
            worker(Stream::Stdout, line, false),
            "22:13:20.999 INFO  web:1 │ x name=billing"
        );
    }

    #[test]
    fn events_show_the_target_and_fields() {
        let mut out = String::new();
        let fields = [
            ("worker", FieldValue::Str("web:1".into())),
            ("code", FieldValue::Int(-1)),
        ];
        event(
            &mut out,
            &Event {
                level: level::WARN,
                time: T,
                origin: &test_origin(),
                target: "spindle_core::supervisor",
                msg: "worker exited",
                fields: &fields,
            },
            false,
        );
        assert_eq!(
            out,
            "22:13:20.123 WARN  spindle_core::supervisor │ worker exited worker=web:1 code=-1"
        );
    }

    #[test]
    fn colours_wrap_the_same_text() {
        let line = r#"{"level":30,"msg":"hi","k":"v"}"#;
        let coloured = worker(Stream::Stdout, line, true);
        assert!(coloured.contains("\x1b[32mINFO "), "{coloured:?}");
        assert!(
            coloured.contains(&format!("{}web:1", app_colour("web"))),
            "{coloured:?}"
        );
        assert_eq!(
            spindle_logline::strip_ansi(&coloured),
            worker(Stream::Stdout, line, false)
        );
    }
}
