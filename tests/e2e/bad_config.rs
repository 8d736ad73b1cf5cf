//! A bad config starts nothing: one line on stderr naming file, line, column and key; exit 64.

use std::net::TcpListener;
use std::time::Duration;

use spindle_e2e::{fixture, Running, TestServer};

/// What spindle said about a bad config.
struct Rejected {
    /// Kept so the process and its temp dir outlive the checks.
    _server: Running,
    /// The whole stderr line.
    line: String,
    line_no: usize,
    col_no: usize,
    /// What follows `<file>:<line>:<col>: `: the key path and the message.
    detail: String,
}

/// Runs spindle on `config` and checks the shared contract: exit 64, one stderr line
/// `spindle: error: <file>:<line>:<col>: …`, nothing started.
async fn run_bad_config(config: &str) -> Rejected {
    let server = TestServer::new().raw_config(config).spawn().await;
    let status = server.wait_exit_and_output(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(64), "exit status {status}");

    let stderr: Vec<String> = server
        .stderr_lines()
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(stderr.len(), 1, "exactly one line on stderr");
    let line = stderr[0].clone();

    let path = server.config_path().unwrap().display().to_string();
    let prefix = format!("spindle: error: {path}:");
    let rest = line
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("stderr line should start with {prefix:?}: {line:?}"));
    let mut parts = rest.splitn(3, ':');
    let line_no: usize = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no line number after the file: {line:?}"));
    let col_no: usize = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no column number after the line: {line:?}"));
    let detail = parts
        .next()
        .and_then(|s| s.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no message after line:col: {line:?}"))
        .to_string();

    for out in server.stdout_lines() {
        assert!(
            !out.contains("spindle ready") && !out.contains("worker"),
            "nothing should start on a bad config; stdout had {out:?}"
        );
    }
    Rejected {
        _server: server,
        line,
        line_no,
        col_no,
        detail,
    }
}

/// The 1-based line and column where `needle` first occurs in `text`.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle in text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

#[tokio::test]
async fn syntax_error_names_file_line_and_column() {
    let app = fixture("plain");
    // Line 5 lacks the comma between "path" and "workers".
    let config = format!(
        r#"{{
  "server": {{"hostname": "127.0.0.1", "port": 0}},
  "metrics": {{"hostname": "127.0.0.1", "port": 0}},
  "applications": [
    {{"id": "web", "path": "{}" "workers": 1}}
  ]
}}
"#,
        app.display()
    );
    let rejected = run_bad_config(&config).await;
    // Points at the token where the comma should have been.
    let expected = position_of(&config, "\"workers\"");
    assert_eq!(expected.0, 5);
    assert_eq!(
        (rejected.line_no, rejected.col_no),
        expected,
        "line:col of the unexpected token: {:?}",
        rejected.line
    );
}

#[tokio::test]
async fn unknown_key_names_the_key_and_starts_nothing() {
    let app = fixture("plain");
    // Hold the port the config asks for: if spindle bound anything before validating, it
    // would report the port in use instead of the key.
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().unwrap().port();
    let config = format!(
        r#"{{
  "server": {{"hostname": "127.0.0.1", "port": {port}}},
  "metrics": {{"hostname": "127.0.0.1", "port": 0}},
  "applications": [
    {{"id": "web", "path": "{}", "wrokers": 2}}
  ]
}}
"#,
        app.display()
    );
    let rejected = run_bad_config(&config).await;
    let line = &rejected.line;
    let expected = position_of(&config, "\"wrokers\"");
    assert_eq!(expected.0, 5);
    assert_eq!(
        (rejected.line_no, rejected.col_no),
        expected,
        "line:col of the unknown key: {line:?}"
    );
    let (key_path, message) = rejected
        .detail
        .split_once(": ")
        .unwrap_or_else(|| panic!("`<key path>: <message>` after line:col: {line:?}"));
    assert_eq!(key_path, "applications[0].wrokers", "key path: {line:?}");
    assert!(
        message.contains("unknown"),
        "says the key is unknown: {line:?}"
    );
    assert!(
        !line.to_lowercase().contains("in use"),
        "config is validated before binding: {line:?}"
    );
    drop(held);
}
