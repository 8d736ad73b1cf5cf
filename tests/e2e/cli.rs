//! The command line itself: help, version, and a Node.js that cannot run Spindle.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use spindle_e2e::{fixture, spindle_bin, TempDir};

fn spindle(args: &[&str]) -> Output {
    Command::new(spindle_bin())
        .args(args)
        .output()
        .expect("run spindle")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn version_and_help() {
    let out = spindle(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("spindle {}", env!("CARGO_PKG_VERSION"))
    );

    let out = spindle(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["start", "check", "schema", "Usage"] {
        assert!(help.contains(word), "--help mentions {word}: {help}");
    }
    let out = spindle(&["start", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--config", "--node", "--pretty"] {
        assert!(help.contains(flag), "start --help mentions {flag}: {help}");
    }
}

/// `spindle start` on the plain fixture with `--node <node>`, which it refuses: exit 69 and
/// one line on stderr. Returns that line and the whole output.
fn refused_start_with_node(node: &str) -> (String, Output) {
    let app = fixture("plain");
    let out = spindle(&["start", app.to_str().unwrap(), "--node", node]);
    assert_eq!(out.status.code(), Some(69));
    let mut lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    (lines.remove(0), out)
}

#[test]
fn a_node_too_old_for_the_listen_channel_is_refused_in_one_line() {
    let dir = TempDir::new();
    let node = dir.path().join("node");
    std::fs::write(&node, "#!/bin/sh\necho v20.15.1\n").unwrap();
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (line, out) = refused_start_with_node(node.to_str().unwrap());
    assert!(
        line.starts_with("spindle: error: Node.js v20.15.1"),
        "{line}"
    );
    assert!(line.contains(">= 20.16"), "{line}");
    assert!(out.stdout.is_empty(), "nothing started");
}

#[test]
fn a_missing_node_is_refused_in_one_line() {
    let (line, _) = refused_start_with_node("/nonexistent/node");
    // What failed, and how to fix it.
    for part in ["cannot run Node.js (/nonexistent/node)", "--node"] {
        assert!(line.contains(part), "{part:?}: {line}");
    }
}

#[test]
fn check_prints_the_resolved_config_and_schema_prints_the_schema() {
    let app = fixture("plain");
    let out = spindle(&["check", app.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(config["entrypoint"], "plain");
    assert_eq!(config["server"]["port"], 3042);

    let out = spindle(&["schema"]);
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/spindle.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(printed, committed);

    let out = spindle(&["schema", "--markdown"]);
    assert!(out.status.success());
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let committed = std::fs::read_to_string(file).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "spindle schema --markdown prints docs/configuration.md"
    );
}
