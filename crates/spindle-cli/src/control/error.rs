//! What can go wrong when talking to a running spindle, and the exit code for each.

use std::path::PathBuf;

/// Exit code when no server can be reached (sysexits' EX_UNAVAILABLE).
pub const EXIT_UNREACHABLE: u8 = 69;
/// Exit code for every other failure: the server said no, or its answer made no sense.
pub const EXIT_FAILED: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no running spindle found (looked in {pattern})")]
    NoneRunning { pattern: String },
    #[error("no running spindle with pid {pid} (looked for {socket})")]
    NoSuchPid { pid: u32, socket: PathBuf },
    #[error("no running spindle named {name:?} (running: {running})")]
    NoSuchName { name: String, running: String },
    #[error("several spindles are running: {running}; pick one with --pid PID or --name NAME")]
    Several { running: String },
    #[error("cannot reach spindle {pid} at {socket}: {source}")]
    Unreachable {
        pid: u32,
        socket: PathBuf,
        source: std::io::Error,
    },
    #[error("lost the connection to spindle {pid}: {source}")]
    Io { pid: u32, source: std::io::Error },
    #[error("bad answer from spindle {pid}: {what}")]
    Protocol { pid: u32, what: String },
    /// The server answered with an error (`{"code": …, "message": …}`).
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

impl ControlError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ControlError::NoneRunning { .. }
            | ControlError::NoSuchPid { .. }
            | ControlError::NoSuchName { .. }
            | ControlError::Unreachable { .. } => EXIT_UNREACHABLE,
            _ => EXIT_FAILED,
        }
    }

    /// Output to a closed pipe (`spindle logs | head`): the reader has all it wanted.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ControlError::Output(err) if err.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// `?` on writes to stdout.
impl From<std::io::Error> for ControlError {
    fn from(err: std::io::Error) -> Self {
        ControlError::Output(err)
    }
}
