//! `Running`: a spindle process the harness started, with its captured output, its URLs
//! and its signals.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::logs::{LogBook, LogLine, Scan, Stream};
use crate::process::Child;
use crate::tempdir::TempDir;
use crate::{READY_TIMEOUT, STEP_TIMEOUT};

/// A running (or exited) spindle process. Dropping it kills the process group it started
/// and removes its temp dir; when the test is failing it also prints everything captured.
pub struct Running {
    child: Child,
    logs: LogBook,
    url: Option<String>,
    admin_url: Option<String>,
    config_path: Option<PathBuf>,
    config_text: Option<String>,
    /// The project directory served in place ([`crate::TestServer::project`]).
    project: Option<PathBuf>,
    dir: TempDir,
    /// Set once a panic message carried `describe()`, so drop does not print it again.
    described: AtomicBool,
}

impl Running {
    pub(crate) fn new(
        child: Child,
        logs: LogBook,
        dir: TempDir,
        config_path: Option<PathBuf>,
        config_text: Option<String>,
        project: Option<PathBuf>,
    ) -> Running {
        Running {
            child,
            logs,
            url: None,
            admin_url: None,
            config_path,
            config_text,
            project,
            dir,
            described: AtomicBool::new(false),
        }
    }

    /// Waits (up to 30 s) for the "spindle ready" line and takes the URLs it gives. Panics
    /// with all captured output when spindle exits first or the time runs out.
    pub(crate) async fn wait_ready(&mut self) {
        let ready = self
            .try_wait_log_since(0, |line| line.is_msg("spindle ready"), READY_TIMEOUT)
            .await;
        let line = match ready {
            Ok(line) => line,
            Err(why) => self.fail(&format!("spindle did not become ready: {why}")),
        };
        let url = line.str("url").map(str::to_string);
        let admin = line.str("admin").map(str::to_string);
        match (url, admin) {
            (Some(url), Some(admin)) => {
                self.url = Some(url.trim_end_matches('/').to_string());
                self.admin_url = Some(admin.trim_end_matches('/').to_string());
            }
            _ => self.fail(&format!(
                "the ready line lacks string fields `url` and `admin`: {}",
                line.text
            )),
        }
    }

    /// The public ingress, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> &str {
        self.url
            .as_deref()
            .expect("no ingress URL: the server was not started with start()")
    }

    /// The admin server, `http://127.0.0.1:PORT`.
    pub fn admin_url(&self) -> &str {
        self.admin_url
            .as_deref()
            .expect("no admin URL: the server was not started with start()")
    }

    /// `host:port` of the ingress.
    pub fn addr(&self) -> &str {
        let url = self.url();
        url.strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(url)
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The config file passed with `-c`, if any.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// The per-test temp dir (the process's working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every line captured so far (stdout and stderr, in order of arrival).
    pub fn logs(&self) -> Vec<LogLine> {
        self.logs.lines()
    }

    /// How many lines have been captured: a mark for [`Running::wait_log_since`].
    pub fn log_mark(&self) -> usize {
        self.logs.len()
    }

    /// Waits for a line (any since the start) matching `pred`. Panics with all output on
    /// timeout, or when the output ends without one.
    pub async fn wait_log(&self, pred: impl FnMut(&LogLine) -> bool, timeout: Duration) -> LogLine {
        self.wait_log_since(0, pred, timeout).await
    }

    /// Like [`Running::wait_log`], looking only at lines from index `mark` on.
    pub async fn wait_log_since(
        &self,
        mark: usize,
        pred: impl FnMut(&LogLine) -> bool,
        timeout: Duration,
    ) -> LogLine {
        match self.try_wait_log_since(mark, pred, timeout).await {
            Ok(line) => line,
            Err(why) => self.fail(&format!("no matching log line: {why}")),
        }
    }

    /// Waits (up to the step timeout) for a line from `mark` on whose `msg` is `msg`.
    pub async fn wait_msg_since(&self, mark: usize, msg: &str) -> LogLine {
        self.wait_log_since(mark, |line| line.is_msg(msg), STEP_TIMEOUT)
            .await
    }

    /// Waits from line `mark` on for `app restarted` of `app`: the end of a rolling
    /// restart, which replaces one worker after the other (up to 30 s).
    pub async fn wait_app_restarted_since(&self, mark: usize, app: &str) -> LogLine {
        self.wait_log_since(
            mark,
            |line| line.is_msg("app restarted") && line.str("app") == Some(app),
            Duration::from_secs(30),
        )
        .await
    }

    /// Waits from line `mark` on for `worker` (`app:n`) to start serving: it became Ready,
    /// or a loaded standby was promoted.
    pub async fn wait_serving_since(&self, mark: usize, worker: &str) -> LogLine {
        self.wait_log_since(
            mark,
            |line| line.is_serving_start() && line.str("worker") == Some(worker),
            STEP_TIMEOUT,
        )
        .await
    }

    /// Like [`Running::wait_log_since`] but returns the reason instead of panicking (also
    /// for asserting that no such line comes within `timeout`).
    pub async fn try_wait_log_since(
        &self,
        mark: usize,
        mut pred: impl FnMut(&LogLine) -> bool,
        timeout: Duration,
    ) -> Result<LogLine, String> {
        let mut changed = self.logs.subscribe();
        let mut exit = self.child.exit_receiver();
        let mut deadline = Instant::now() + timeout;
        let mut exited_grace_set = false;
        // False once the reaper task is gone without a status (its wait failed).
        let mut reaper_alive = true;
        let mut cursor = mark;
        loop {
            // Subscribe-then-scan: a line pushed after the scan marks `changed`, so none is
            // missed.
            changed.borrow_and_update();
            let closed = match self.logs.scan(&mut cursor, &mut pred) {
                Scan::Found(line) => return Ok(line),
                Scan::NotYet { closed } => closed,
            };
            let status = *exit.borrow_and_update();
            if let Some(status) = status {
                if closed {
                    return Err(format!("spindle exited ({status}) and its output ended"));
                }
                // Its output may stay open in a descendant; give trailing lines a moment.
                if !exited_grace_set {
                    exited_grace_set = true;
                    deadline = deadline.min(Instant::now() + Duration::from_secs(2));
                }
            } else if closed && !reaper_alive {
                return Err("spindle's output ended (exit status unknown)".to_string());
            }
            tokio::select! {
                _ = changed.changed(), if !closed => {}
                result = exit.changed(), if status.is_none() && reaper_alive => {
                    reaper_alive = result.is_ok();
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(match status {
                        Some(status) => format!("spindle exited ({status})"),
                        None => format!("timed out after {timeout:?}"),
                    });
                }
            }
        }
    }

    /// Sends SIGTERM to the spindle process.
    pub fn sigterm(&self) {
        self.child.signal(libc::SIGTERM);
    }

    /// Sends SIGINT to the spindle process.
    pub fn sigint(&self) {
        self.child.signal(libc::SIGINT);
    }

    /// Sends SIGHUP to the spindle process (reloads the TLS certificates).
    pub fn sighup(&self) {
        self.child.signal(libc::SIGHUP);
    }

    /// Sends SIGUSR2 to the spindle process (a rolling restart of every app).
    pub fn sigusr2(&self) {
        self.child.signal(libc::SIGUSR2);
    }

    /// GET `path` on the admin server, asserting a 200 JSON answer (e.g. `/status`).
    pub async fn admin_json(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.admin_url());
        match crate::client::try_get(&url).await {
            Ok(res) if res.status == http::StatusCode::OK => {
                match serde_json::from_slice(&res.body) {
                    Ok(value) => value,
                    Err(err) => self.fail(&format!("GET {url}: not JSON ({err}): {}", res.text())),
                }
            }
            Ok(res) => self.fail(&format!("GET {url}: {} {}", res.status, res.text())),
            Err(err) => self.fail(&format!("GET {url}: {err}")),
        }
    }

    /// The exit status if the process has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child.exit_status()
    }

    /// Waits for the process to exit. Panics with all output on timeout.
    pub async fn wait_exit(&self, timeout: Duration) -> ExitStatus {
        let mut exit = self.child.exit_receiver();
        let waited = tokio::time::timeout(timeout, exit.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(status)) => status.expect("wait_for returned Some"),
            _ => self.fail(&format!("spindle did not exit within {timeout:?}")),
        }
    }

    /// Waits for the exit and for the end of its output (bounded), so that `logs()` is
    /// complete.
    pub async fn wait_exit_and_output(&self, timeout: Duration) -> ExitStatus {
        let status = self.wait_exit(timeout).await;
        let _ = self
            .try_wait_log_since(self.log_mark(), |_| false, Duration::from_secs(2))
            .await;
        status
    }

    /// Stdout lines only, as text.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.lines_of(Stream::Stdout)
    }

    /// Stderr lines only, as text.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.lines_of(Stream::Stderr)
    }

    fn lines_of(&self, stream: Stream) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|line| line.stream == stream)
            .map(|line| line.text)
            .collect()
    }

    /// Panics with `message` followed by [`Running::describe`].
    pub fn fail(&self, message: &str) -> ! {
        self.described.store(true, Ordering::Relaxed);
        panic!("{message}\n{}", self.describe())
    }

    /// The config, the process state and every captured line, for failure messages.
    pub fn describe(&self) -> String {
        let state = match self.exit_status() {
            Some(status) => format!("exited ({status})"),
            None => "running".to_string(),
        };
        let config = match (&self.config_text, &self.project) {
            (Some(text), _) => format!(
                "config {}:\n{text}",
                self.config_path.as_ref().unwrap().display()
            ),
            (None, Some(project)) => format!("the project in {}", project.display()),
            (None, None) => format!("no config file; app dir {}", self.dir.path().display()),
        };
        format!(
            "--- spindle pid {} ({state}) ---\n{config}\n--- output ---\n{}---",
            self.child.pid(),
            self.logs.dump()
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.described.load(Ordering::Relaxed) {
            eprintln!("{}", self.describe());
        }
        // The child's own Drop kills its process group; the temp dir goes after it.
    }
}
