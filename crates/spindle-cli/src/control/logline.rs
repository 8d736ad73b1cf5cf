//! One JSON log line made readable, in the shape `spindle start --pretty` prints:
//! `HH:MM:SS.mmm LEVEL <worker or target> │ msg key=value …` (times in UTC).

use serde_json::{Map, Value};

use super::format::time_of_day;

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";

/// Fields already shown in the line's head, or noise on a terminal.
const HIDDEN: [&str; 10] = [
    "level", "time", "msg", "pid", "hostname", "v", "app", "worker", "target", "stream",
];

/// `line` rendered for a terminal; a line that is not a JSON object is returned as is.
pub fn render(line: &str, colour: bool) -> String {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(line) else {
        return line.to_string();
    };
    let time = fields
        .get("time")
        .and_then(Value::as_u64)
        .map_or_else(|| "--:--:--.---".to_string(), time_of_day);
    let level = match fields.get("level") {
        // What pino's `formatters.level` writes: the level's name.
        Some(Value::String(name)) => level_label(name).unwrap_or("INFO"),
        other => level_name(other.and_then(Value::as_f64).unwrap_or(30.0)),
    };
    let label = ["worker", "target", "app"]
        .iter()
        .find_map(|key| fields.get(*key).and_then(Value::as_str))
        .unwrap_or("spindle");
    let mut out = if colour {
        format!(
            "{DIM}{time}{RESET} {}{level:<5}{RESET} {label} {DIM}│{RESET}",
            level_colour(level)
        )
    } else {
        format!("{time} {level:<5} {label} │")
    };
    match fields.get("msg") {
        Some(Value::String(msg)) => push_message(&mut out, msg),
        Some(other) => push_message(&mut out, &other.to_string()),
        None => {}
    }
    push_fields(&mut out, &fields, colour);
    out
}

/// pino's level names; a custom level takes the name of the next standard one up.
fn level_name(level: f64) -> &'static str {
    match level {
        l if l <= 10.0 => "TRACE",
        l if l <= 20.0 => "DEBUG",
        l if l <= 30.0 => "INFO",
        l if l <= 40.0 => "WARN",
        l if l <= 50.0 => "ERROR",
        _ => "FATAL",
    }
}

/// The shown name of a level given by name, in any case; None for a name pino does not have.
fn level_label(name: &str) -> Option<&'static str> {
    ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        .into_iter()
        .find(|label| label.eq_ignore_ascii_case(name))
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

/// The message on one line: embedded newlines are shown escaped.
fn push_message(out: &mut String, msg: &str) {
    if msg.is_empty() {
        return;
    }
    out.push(' ');
    out.push_str(&msg.replace('\n', "\\n").replace('\r', "\\r"));
}

fn push_fields(out: &mut String, fields: &Map<String, Value>, colour: bool) {
    for (key, value) in fields {
        if HIDDEN.contains(&key.as_str()) {
            continue;
        }
        // `name` is the app's id on Spindle's and Watt's lines; another name is worth showing.
        if key == "name" && value.as_str() == fields.get("app").and_then(Value::as_str) {
            continue;
        }
        if colour {
            out.push_str(&format!(" {DIM}{key}={RESET}"));
        } else {
            out.push_str(&format!(" {key}="));
        }
        match value {
            Value::String(s) if !needs_quotes(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
    }
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_lines_show_time_level_worker_and_message() {
        let line = r#"{"level":30,"time":1700000000123,"app":"web","worker":"web:1","stream":"stdout","msg":"plain app loaded in thread 2"}"#;
        assert_eq!(
            render(line, false),
            "22:13:20.123 INFO  web:1 │ plain app loaded in thread 2"
        );
    }

    #[test]
    fn level_names_are_read_and_the_app_name_is_not_repeated() {
        let line = r#"{"app":"web","worker":"web:1","name":"web","pid":1,"hostname":"h","level":"warn","time":1700000000123,"msg":"slow"}"#;
        assert_eq!(render(line, false), "22:13:20.123 WARN  web:1 │ slow");
        let line = r#"{"app":"web","worker":"web:1","name":"billing","level":"FATAL","time":1700000000123,"msg":"x"}"#;
        assert_eq!(
            render(line, false),
            "22:13:20.123 FATAL web:1 │ x name=billing"
        );
    }

    #[test]
    fn coordinator_lines_show_the_target_and_fields() {
        let line = r#"{"level":40,"time":1700000000123,"target":"spindle_core::supervisor","msg":"worker exited","worker":"web:1","code":-1}"#;
        // A `worker` field names the worker; the target is shown when there is none.
        assert_eq!(
            render(line, false),
            "22:13:20.123 WARN  web:1 │ worker exited code=-1"
        );
        let line = r#"{"level":30,"time":1700000000123,"target":"spindle_core::core","msg":"spindle ready","url":"http://127.0.0.1:3042","note":"a b"}"#;
        assert_eq!(
            render(line, false),
            "22:13:20.123 INFO  spindle_core::core │ spindle ready note=\"a b\" url=http://127.0.0.1:3042"
        );
    }

    #[test]
    fn odd_lines_still_render() {
        assert_eq!(render("not json", false), "not json");
        assert_eq!(
            render(r#"{"msg":"a\nb"}"#, false),
            "--:--:--.--- INFO  spindle │ a\\nb"
        );
        assert_eq!(
            render(r#"{"level":60,"time":0,"msg":"x","req":{"id":3}}"#, false),
            "00:00:00.000 FATAL spindle │ x req={\"id\":3}"
        );
    }

    #[test]
    fn colour_wraps_the_same_text() {
        let line = r#"{"level":50,"time":1700000000123,"worker":"web:0","msg":"oh no","k":"v"}"#;
        let coloured = render(line, true);
        assert!(coloured.contains("\x1b[31mERROR"), "{coloured:?}");
        let stripped: String = coloured
            .split('\x1b')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once('m').map_or("", |p| p.1)
                }
            })
            .collect();
        assert_eq!(stripped, render(line, false));
    }
}
