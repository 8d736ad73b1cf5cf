//! How a log line looks on a terminal, in one place: `spindle start --pretty` renders the
//! lines as they are made (spindle-core's `logs::pretty`), `spindle logs` renders the JSON
//! lines it reads back (spindle-cli), and both must print the same thing:
//! `HH:MM:SS.mmm LEVEL <worker or target> │ msg key=value …`, times in UTC (as pino-pretty
//! shows them by default; the local offset needs a time-zone database).

#![forbid(unsafe_code)]

use std::fmt::Write as _;

use serde_json::{Map, Value};

pub const RESET: &str = "\x1b[0m";
pub const DIM: &str = "\x1b[2m";
pub const BOLD: &str = "\x1b[1m";

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

/// pino fields that are noise on a terminal (pino-pretty hides them too) or already shown
/// in the line's header.
pub const HIDDEN_PINO_FIELDS: [&str; 6] = ["level", "time", "msg", "pid", "hostname", "v"];

/// A colour for `app` that is the same in every run, so a reader learns which is which.
pub fn app_colour(app: &str) -> &'static str {
    // FNV-1a: tiny, and stable across Rust versions (unlike `DefaultHasher`).
    let hash = app.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    APP_COLOURS[(hash % APP_COLOURS.len() as u64) as usize]
}

/// The name shown for a pino level number. pino allows custom levels with any number, so
/// a number between two standard levels takes the name of the next standard level up.
pub fn level_name(level: f64) -> &'static str {
    match level {
        l if l <= 10.0 => "TRACE",
        l if l <= 20.0 => "DEBUG",
        l if l <= 30.0 => "INFO",
        l if l <= 40.0 => "WARN",
        l if l <= 50.0 => "ERROR",
        _ => "FATAL",
    }
}

/// The pino number of a level given by name, as pino writes it when an app's
/// `formatters.level` returns `{ level: label }` (any case).
pub fn level_number(name: &str) -> Option<u64> {
    ["trace", "debug", "info", "warn", "error", "fatal"]
        .iter()
        .position(|known| known.eq_ignore_ascii_case(name))
        .map(|i| 10 * (i as u64 + 1))
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

/// `HH:MM:SS.mmm` of a Unix time in milliseconds, UTC.
pub fn time_of_day(ms: u64) -> String {
    let mut out = String::new();
    push_time(&mut out, Some(ms));
    out
}

fn push_time(out: &mut String, ms: Option<u64>) {
    match ms {
        Some(ms) => {
            let _ = write!(
                out,
                "{:02}:{:02}:{:02}.{:03}",
                (ms / 3_600_000) % 24,
                (ms / 60_000) % 60,
                (ms / 1000) % 60,
                ms % 1000
            );
        }
        None => out.push_str("--:--:--.---"),
    }
}

/// `HH:MM:SS.mmm LEVEL label │`; `label_colour` is `None` when colours are off.
pub fn header(
    out: &mut String,
    time: Option<u64>,
    level: f64,
    label: &str,
    label_colour: Option<&str>,
) {
    let name = level_name(level);
    match label_colour {
        Some(label_colour) => {
            out.push_str(DIM);
            push_time(out, time);
            let _ = write!(
                out,
                "{RESET} {}{name:<5}{RESET} {label_colour}{label}{RESET} {DIM}│{RESET}",
                level_colour(name)
            );
        }
        None => {
            push_time(out, time);
            let _ = write!(out, " {name:<5} {label} │");
        }
    }
}

/// Appends the message, keeping it on one line: embedded newlines are shown escaped.
/// Other control characters pass, so an app's own colour codes still work.
pub fn push_message(out: &mut String, msg: &str) {
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

pub fn push_key(out: &mut String, key: &str, colour: bool) {
    if colour {
        let _ = write!(out, " {DIM}{key}={RESET}");
    } else {
        let _ = write!(out, " {key}=");
    }
}

/// A string value bare when that is unambiguous, JSON-quoted when it would not be.
pub fn push_value_str(out: &mut String, s: &str) {
    let needs_quotes = s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
    if needs_quotes {
        out.push_str(&Value::from(s).to_string());
    } else {
        out.push_str(s);
    }
}

/// A field's value: strings as [`push_value_str`] does, anything else as JSON.
pub fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => push_value_str(out, s),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Fields Spindle's own JSON lines carry that the header already shows.
const HIDDEN_SPINDLE_FIELDS: [&str; 4] = ["app", "worker", "target", "stream"];

/// A JSON log line as Spindle writes it (a worker's line with its `app` and `worker`, or
/// a core event with its `target`), rendered as `--pretty` renders it when it is made. A
/// line that is not a JSON object is returned as is.
pub fn json_line(line: &str, colour: bool) -> String {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(line) else {
        return line.to_string();
    };
    let time = fields.get("time").and_then(Value::as_u64);
    let level = match fields.get("level") {
        Some(Value::String(name)) => level_number(name).unwrap_or(30) as f64,
        other => other.and_then(Value::as_f64).unwrap_or(30.0),
    };
    let str_field = |key: &str| fields.get(key).and_then(Value::as_str);
    let (label, label_colour) = match (str_field("worker"), str_field("target")) {
        (Some(worker), _) => {
            let app =
                str_field("app").unwrap_or_else(|| worker.split(':').next().unwrap_or(worker));
            (worker, app_colour(app))
        }
        (None, Some(target)) => (target, BOLD),
        (None, None) => match str_field("app") {
            Some(app) => (app, app_colour(app)),
            None => ("spindle", BOLD),
        },
    };
    let mut out = String::new();
    header(&mut out, time, level, label, colour.then_some(label_colour));
    match fields.get("msg") {
        Some(Value::String(msg)) => push_message(&mut out, msg),
        Some(other) => push_message(&mut out, &other.to_string()),
        None => {}
    }
    push_fields(&mut out, &fields, colour);
    out
}

fn push_fields(out: &mut String, fields: &Map<String, Value>, colour: bool) {
    for (key, value) in fields {
        if HIDDEN_PINO_FIELDS.contains(&key.as_str())
            || HIDDEN_SPINDLE_FIELDS.contains(&key.as_str())
        {
            continue;
        }
        // `name` is the app's id on Spindle's and Watt's lines; another name is worth showing.
        if key == "name" && value.as_str() == fields.get("app").and_then(Value::as_str) {
            continue;
        }
        push_key(out, key, colour);
        push_value(out, value);
    }
}

/// `s` without its colour codes: what a terminal shows of it (tests compare the two).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip the `[` parameters and the final letter.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_lines_show_time_level_worker_and_message() {
        let line = r#"{"level":30,"time":1700000000123,"app":"web","worker":"web:1","stream":"stdout","msg":"plain app loaded in thread 2"}"#;
        assert_eq!(
            json_line(line, false),
            "22:13:20.123 INFO  web:1 │ plain app loaded in thread 2"
        );
    }

    #[test]
    fn level_names_are_read_and_the_app_name_is_not_repeated() {
        let line = r#"{"app":"web","worker":"web:1","name":"web","pid":1,"hostname":"h","level":"warn","time":1700000000123,"msg":"slow"}"#;
        assert_eq!(json_line(line, false), "22:13:20.123 WARN  web:1 │ slow");
        let line = r#"{"app":"web","worker":"web:1","name":"billing","level":"FATAL","time":1700000000123,"msg":"x"}"#;
        assert_eq!(
            json_line(line, false),
            "22:13:20.123 FATAL web:1 │ x name=billing"
        );
    }

    #[test]
    fn coordinator_lines_show_the_target_and_fields() {
        let line = r#"{"level":40,"time":1700000000123,"target":"spindle_core::supervisor","msg":"worker exited","worker":"web:1","code":-1}"#;
        // A `worker` field names the worker; the target is shown when there is none.
        assert_eq!(
            json_line(line, false),
            "22:13:20.123 WARN  web:1 │ worker exited code=-1"
        );
        let line = r#"{"level":30,"time":1700000000123,"target":"spindle_core::core","msg":"spindle ready","url":"http://127.0.0.1:3042","note":"a b"}"#;
        assert_eq!(
            json_line(line, false),
            "22:13:20.123 INFO  spindle_core::core │ spindle ready note=\"a b\" url=http://127.0.0.1:3042"
        );
    }

    #[test]
    fn odd_lines_still_render() {
        assert_eq!(json_line("not json", false), "not json");
        assert_eq!(
            json_line(r#"{"msg":"a\nb"}"#, false),
            "--:--:--.--- INFO  spindle │ a\\nb"
        );
        assert_eq!(
            json_line(r#"{"level":60,"time":0,"msg":"x","req":{"id":3}}"#, false),
            "00:00:00.000 FATAL spindle │ x req={\"id\":3}"
        );
    }

    #[test]
    fn colour_wraps_the_same_text() {
        let line = r#"{"level":50,"time":1700000000123,"app":"web","worker":"web:0","msg":"oh no","k":"v"}"#;
        let coloured = json_line(line, true);
        assert!(coloured.contains("\x1b[31mERROR"), "{coloured:?}");
        assert!(
            coloured.contains(&format!("{}web:0", app_colour("web"))),
            "{coloured:?}"
        );
        assert_eq!(strip_ansi(&coloured), json_line(line, false));
    }

    #[test]
    fn levels_by_number_and_name() {
        assert_eq!(
            level_name(35.0),
            "WARN",
            "a custom level takes the next name up"
        );
        assert_eq!(level_number("Warn"), Some(40));
        assert_eq!(level_number("fatal"), Some(60));
        assert_eq!(level_number("loud"), None);
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
