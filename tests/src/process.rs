//! The child process: spawned in its own process group so that everything it starts can be
//! killed with it, reaped by a task that publishes its exit status.

use std::process::{ExitStatus, Stdio};

use tokio::process::Command;
use tokio::sync::watch;

use crate::logs::{LogBook, Stream};

/// Readies `command` to run as a child of the test: stdin closed, stdout and stderr piped,
/// in a process group of its own (so that everything it starts can be killed with it), and
/// killed by the kernel if the test process dies without running destructors (a timeout's
/// SIGKILL) rather than left running.
pub fn as_test_child(command: &mut Command) -> &mut Command {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; the closure touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

pub(crate) struct Child {
    pid: libc::pid_t,
    exit: watch::Receiver<Option<ExitStatus>>,
}

impl Child {
    /// Spawns `command` with stdin closed and stdout/stderr captured into `logs`.
    pub(crate) fn spawn(mut command: Command, logs: &LogBook) -> std::io::Result<Child> {
        as_test_child(&mut command);
        let mut child = command.spawn()?;
        let pid = child.id().expect("a just-spawned child has a pid") as libc::pid_t;
        logs.capture(Stream::Stdout, child.stdout.take().expect("piped stdout"));
        logs.capture(Stream::Stderr, child.stderr.take().expect("piped stderr"));
        let (tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                tx.send_replace(Some(status));
            }
        });
        Ok(Child { pid, exit })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// The exit status, once the process has been reaped.
    pub(crate) fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    pub(crate) fn exit_receiver(&self) -> watch::Receiver<Option<ExitStatus>> {
        self.exit.clone()
    }

    /// Sends `signal` to the spindle process itself (not its group), as a supervisor would.
    pub(crate) fn signal(&self, signal: libc::c_int) {
        if self.exit_status().is_some() {
            return;
        }
        // SAFETY: plain syscall on the pid of a child we spawned and have not reaped.
        unsafe {
            libc::kill(self.pid, signal);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Only while unreaped: then the pid, and so the group id, is still ours.
        if self.exit_status().is_none() {
            // SAFETY: plain syscall; the group was created for this child (process_group(0)).
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
            }
        }
    }
}
