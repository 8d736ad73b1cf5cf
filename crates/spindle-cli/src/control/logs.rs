//! `spindle logs`: the server's last log lines, then (with `-f`) new ones as they come.
//! Raw JSON lines for pipes and `--json`, rendered lines on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use super::client::{encode, Endpoint};
use super::error::ControlError;

pub fn run(
    endpoint: &Endpoint,
    app: Option<&str>,
    tail: u32,
    follow: bool,
    json: bool,
) -> Result<(), ControlError> {
    let stdout = std::io::stdout();
    let pretty = !json && stdout.is_terminal();
    let colour = pretty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut reader = endpoint.stream(&path(app, tail, follow))?;
    let mut out = stdout.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| ControlError::Io {
                pid: endpoint.pid(),
                source,
            })?;
        if n == 0 {
            return Ok(());
        }
        let text = trim_line(&line);
        if text.is_empty() {
            continue;
        }
        if pretty {
            let rendered = spindle_logline::json_line(&String::from_utf8_lossy(text), colour);
            out.write_all(rendered.as_bytes())?;
        } else {
            out.write_all(text)?;
        }
        out.write_all(b"\n")?;
        if follow {
            out.flush()?;
        }
    }
}

/// `/v1/logs?tail=N&follow=…[&app=ID]`.
fn path(app: Option<&str>, tail: u32, follow: bool) -> String {
    let mut path = format!("/v1/logs?tail={tail}&follow={follow}");
    if let Some(app) = app {
        path.push_str("&app=");
        path.push_str(&encode(app));
    }
    path
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_the_tail_of_one_app() {
        assert_eq!(path(None, 100, false), "/v1/logs?tail=100&follow=false");
        assert_eq!(
            path(Some("my app"), 5, true),
            "/v1/logs?tail=5&follow=true&app=my%20app"
        );
        assert_eq!(trim_line(b"{}\r\n"), b"{}");
    }
}
