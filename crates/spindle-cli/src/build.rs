//! `spindle build`: builds each Next.js app of a project (Watt's `wattpm build`), one after
//! another, with its output streamed; the first failure ends the command with its exit code.

use std::process::{Command, ExitCode};

use spindle_config::next::{self, BuildCommand, BuildStep};

/// Exit code when a build command could not be run at all (sysexits' EX_OSERR).
const EXIT_CANNOT_RUN: u8 = 71;

/// Builds every Next.js app of `config`; what to say and the exit code on failure.
pub fn run(config: &spindle_config::Config) -> Result<(), (u8, String)> {
    let steps: Vec<BuildStep> = config
        .applications
        .iter()
        .filter_map(next::build_step)
        .collect::<Result<_, _>>()
        .map_err(|why| (crate::EXIT_CONFIG, why))?;
    if steps.is_empty() {
        eprintln!(
            "spindle: nothing to build: no application is a Next.js app (@platformatic/next); \
             build the others with their own tools"
        );
        return Ok(());
    }
    for step in &steps {
        eprintln!(
            "spindle: building {:?} in {}: {}",
            step.app,
            step.dir.display(),
            step.command
        );
        let status = command(step).status().map_err(|err| {
            let why = format!("cannot run `{}` for {:?}: {err}", step.command, step.app);
            (EXIT_CANNOT_RUN, why)
        })?;
        if !status.success() {
            let code = exit_code(status);
            let why = format!(
                "building {:?} failed: `{}` exited with {status}",
                step.app, step.command
            );
            return Err((code, why));
        }
        // The build is what start serves: check it the way start will.
        let app = config
            .applications
            .iter()
            .find(|app| app.id == step.app)
            .expect("a step is for one of the config's apps");
        let mounts: Vec<&str> = config
            .server
            .routes
            .iter()
            .filter(|route| route.app == app.id)
            .map(|route| route.prefix.as_str())
            .collect();
        next::check_app(app, &mounts, false).map_err(|why| (crate::EXIT_CONFIG, why))?;
        eprintln!("spindle: built {:?}", step.app);
    }
    Ok(())
}

/// The process for `step`: in the app's directory, with the app's environment, its output
/// on ours.
fn command(step: &BuildStep) -> Command {
    let mut command = match &step.command {
        BuildCommand::Shell(line) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(line);
            c
        }
        BuildCommand::NextBuild(next) => {
            let mut c = Command::new(next);
            c.arg("build");
            c
        }
    };
    command.current_dir(&step.dir).env_clear().envs(&step.env);
    command
}

/// The exit code to end with for a failed child: its own, or 128 + the signal that ended
/// it, as a shell reports it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}

/// `run`'s result as the process's exit.
pub fn exit(result: Result<(), (u8, String)>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, why)) => crate::fail(code, &why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    #[test]
    fn a_failed_build_ends_with_its_code_or_its_signal() {
        // A wait status: the exit code in the second byte, a signal in the first.
        assert_eq!(exit_code(ExitStatus::from_raw(2 << 8)), 2);
        assert_eq!(exit_code(ExitStatus::from_raw(1 << 8)), 1);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 128 + 15);
    }
}
