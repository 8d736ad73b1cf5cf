//! Runs the operator commands (`spindle ps`, `logs`, `restart`, …) as a user would: the real
//! binary, its exit code and its output. [`Running::cli`] aims one at a given server with
//! `--pid`, since tests running in parallel have several spindles up at once.

use std::process::Stdio;

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::paths::spindle_bin;
use crate::running::Running;
use crate::STEP_TIMEOUT;

/// What one run of the command left behind.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub args: Vec<String>,
    /// None when it was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// The command, its exit code and both streams, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "spindle {} exited {:?}\n--- stdout ---\n{}--- stderr ---\n{}---",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    /// Stdout as JSON; panics with [`CliOutput::describe`] when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}):\n{}", self.describe()))
    }

    /// Panics unless the exit code is 0.
    pub fn assert_ok(&self) -> &CliOutput {
        assert_eq!(self.code, Some(0), "{}", self.describe());
        self
    }
}

/// Runs `spindle <args>` to the end (at most [`STEP_TIMEOUT`]), stdin closed.
pub async fn spindle_cli(args: &[&str]) -> CliOutput {
    let mut command = Command::new(spindle_bin());
    command
        .args(args)
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(STEP_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("spindle {} took over {STEP_TIMEOUT:?}", args.join(" ")))
        .unwrap_or_else(|err| panic!("run {}: {err}", spindle_bin().display()));
    CliOutput {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Running {
    /// `spindle <args> --pid <this server>`, run to the end (at most [`STEP_TIMEOUT`]).
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        let pid = self.pid().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--pid", &pid]);
        spindle_cli(&all).await
    }

    /// `spindle <args> --pid <this server>` left running with stdout piped (e.g.
    /// `logs -f`); killed when dropped.
    pub fn cli_spawn(&self, args: &[&str]) -> Child {
        Command::new(spindle_bin())
            .args(args)
            .env_remove("XDG_RUNTIME_DIR")
            .arg("--pid")
            .arg(self.pid().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("spawn {}: {err}", spindle_bin().display()))
    }
}
