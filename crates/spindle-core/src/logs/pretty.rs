//! Human-readable output for terminals and `--pretty`:
//! `HH:MM:SS.mmm LEVEL <worker or target> │ msg key=value …`.
//!
//! Times are UTC (as pino-pretty shows them by default): the local offset needs the
//! platform's time-zone database, which this crate does not depend on.

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::push_json_str;
use super::field::FieldValue;
use super::labels::Labels;
use super::pino::PinoLine;
use super::render::Event;
use super::{level, Stream};

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";

/// Colours handed out to app names. Red and the level colours' meanings are avoided so
/// an app label is not mistaken for a severity.
const APP_COLOURS: [&str; 6] = [
    "\x1b[36m", // cyan
    "\x1b[35m", // magenta
    "\x1b[94m", // bright blue
    "\x1b[96m", // bright cyan
    "\x1b[95m", // bright magenta
    "\x1b[92m", // bright green
];

/// pino fields that are noise on a terminal (pino-pretty hides them too) or already
/// shown in the line's header.
const HIDDEN_PINO_FIELDS: [&str; 6] = ["level", "time", "msg", "pid", "hostname", "v"];

/// A colour for `app` that is the same in every run, so a reader learns which is which.
pub(crate) fn app_colour(app: &str) -> &'static str {
    // FNV-1a: tiny, and stable across Rust versions (unlike `DefaultHasher`).
    let hash = app.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    APP_COLOURS[(hash % APP_COLOURS.len() as u64) as usize]
}

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
        header(out, time, level as f64, &labels.worker, label_colour);
        push_message(out, line);
        return;
    };
    let level = pino.level().unwrap_or(level::INFO as f64);
    let time = pino.get("time").and_then(Value::as_u64).unwrap_or(time);
    header(out, time, level, &labels.worker, label_colour);
    match pino.get("msg") {
        Some(Value::String(msg)) => push_message(out, msg),
        Some(other) => push_message(out, &other.to_string()),
        None => {}
    }
    for (key, value) in &pino.0 {
        if HIDDEN_PINO_FIELDS.contains(&key.as_str()) {
            continue;
        }
        // The app's name is the worker label already; another name is worth showing.
        if key == "name" && value.as_str() == Some(&labels.app) {
            continue;
        }
        push_key(out, key, colour);
        match value {
            Value::String(s) => push_value_str(out, s),
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }
}

/// Renders a coordinator event.
pub(crate) fn event(out: &mut String, event: &Event<'_>, colour: bool) {
    header(
        out,
        event.time,
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

/// `HH:MM:SS.mmm LEVEL label │`; `label_colour` is `None` when colours are off.
fn header(out: &mut String, time: u64, level: f64, label: &str, label_colour: Option<&str>) {
    let (h, m, s, ms) = (
        (time / 3_600_000) % 24,
        (time / 60_000) % 60,
        (time / 1000) % 60,
        time % 1000,
    );
    let name = level::name(level);
    match label_colour {
        Some(label_colour) => {
            let level_colour = level_colour(name);
            let _ = write!(
                out,
                "{DIM}{h:02}:{m:02}:{s:02}.{ms:03}{RESET} {level_colour}{name:<5}{RESET} \
                 {label_colour}{label}{RESET} {DIM}│{RESET}"
            );
        }
        None => {
            let _ = write!(out, "{h:02}:{m:02}:{s:02}.{ms:03} {name:<5} {label} │");
        }
    }
}

fn level_colour(name: &str) -> &'static str {
    match name {
        "TRACE" => "\x1b[90m",
        "DEBUG" => "\x1b[34m",
        "INFO" => "\x1b[32m",
        "WARN" => "\x1b[33m",
        "ERROR" => "\x1b[31m",
        _ => "\x1b[1;41;97m",
    }
}

/// Appends the message, keeping it on one line: embedded newlines are shown escaped.
/// Other control characters pass, so an app's own colour codes still work.
fn push_message(out: &mut String, msg: &str) {
    if msg.is_empty() {
        return;
    }
    out.push(' ');
    for c in msg.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn push_key(out: &mut String, key: &str, colour: bool) {
    if colour {
        let _ = write!(out, " {DIM}{key}={RESET}");
    } else {
        let _ = write!(out, " {key}=");
    }
}

/// A string value bare when that is unambiguous, JSON-quoted when it would not be.
fn push_value_str(out: &mut String, s: &str) {
    let needs_quotes = s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
    if needs_quotes {
        push_json_str(out, s);
    } else {
        out.push_str(s);
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

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                // Skip `[` params and the final letter.
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
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
        assert_eq!(strip_ansi(&coloured), worker(Stream::Stdout, line, false));
    }

    #[test]
    fn app_colours_are_stable_per_name() {
        assert_eq!(app_colour("web"), app_colour("web"));
        let distinct: std::collections::HashSet<_> = ["web", "api", "jobs", "admin", "mail"]
            .map(app_colour)
            .into();
        assert!(distinct.len() > 1);
    }
}
