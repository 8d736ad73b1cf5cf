//! `TestServer` writes a `spindle.json` and starts the real binary; `Running` is the live
//! process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::process::Command;
use tokio::time::Instant;

use crate::logs::{LogBook, LogLine, Scan};
use crate::paths::{spindle_bin, test_node};
use crate::process::Child;
use crate::tempdir::TempDir;
use crate::READY_TIMEOUT;

/// One entry of `applications`.
#[derive(Clone, Debug)]
struct AppSpec {
    id: String,
    path: PathBuf,
    workers: Option<u32>,
    env: BTreeMap<String, String>,
    /// Further keys of the app's entry (`health`, `maxFailedStarts`, ...).
    extra: Map<String, Value>,
}

/// What the harness writes (or does not write) as the config.
#[derive(Clone, Debug)]
enum ConfigSource {
    /// Generated from the builder's apps and options.
    Generated,
    /// Written exactly as given to `spindle.json`.
    Raw(String),
    /// No config file: `spindle start <dir>` with a copy of this app directory.
    None(PathBuf),
    /// `spindle start <dir>` on this project directory itself, as it is: its own config
    /// (`watt.json`, `.env`, apps in subdirectories) and its installed `node_modules`.
    Project(PathBuf),
}

/// Builder for one spindle process. Methods that configure an app (`workers`, `env`) apply
/// to the app added last.
#[derive(Clone, Debug)]
pub struct TestServer {
    apps: Vec<AppSpec>,
    source: ConfigSource,
    graceful_ms: Option<u64>,
    entrypoint: Option<String>,
    server_port: u16,
    admin_port: u16,
    extra: Map<String, Value>,
    process_env: BTreeMap<String, String>,
    /// `spindle dev` (with JSON logs) instead of `spindle start`.
    dev: bool,
    /// Another spindle executable than [`spindle_bin`] (an installed copy).
    bin: Option<PathBuf>,
}

impl Default for TestServer {
    fn default() -> Self {
        TestServer::new()
    }
}

impl TestServer {
    pub fn new() -> TestServer {
        TestServer {
            apps: Vec::new(),
            source: ConfigSource::Generated,
            graceful_ms: None,
            entrypoint: None,
            server_port: 0,
            admin_port: 0,
            extra: Map::new(),
            process_env: BTreeMap::new(),
            dev: false,
            bin: None,
        }
    }

    /// Adds an application with id `id` served from `path` (an absolute fixture dir).
    pub fn app(mut self, id: &str, path: impl Into<PathBuf>) -> TestServer {
        self.apps.push(AppSpec {
            id: id.to_string(),
            path: path.into(),
            workers: None,
            env: BTreeMap::new(),
            extra: Map::new(),
        });
        self
    }

    fn last_app(&mut self) -> &mut AppSpec {
        self.apps
            .last_mut()
            .expect("call .app(..) before configuring an app")
    }

    /// Runs `spindle dev` (file watching, JSON logs) instead of `spindle start`.
    pub fn dev(mut self) -> TestServer {
        self.dev = true;
        self
    }

    /// Runs this spindle executable (an installed copy) instead of the build's, without
    /// SPINDLE_ADDON and SPINDLE_JS, so that it finds its files itself.
    pub fn bin(mut self, path: impl Into<PathBuf>) -> TestServer {
        self.bin = Some(path.into());
        self
    }

    /// `workers` of the last app.
    pub fn workers(mut self, workers: u32) -> TestServer {
        self.last_app().workers = Some(workers);
        self
    }

    /// One entry of the last app's `env`.
    pub fn env(mut self, key: &str, value: &str) -> TestServer {
        self.last_app()
            .env
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Keys merged (deeply, for objects) into the last app's entry, e.g.
    /// `json!({"maxFailedStarts": 3, "health": {"maxStall": 500}})`.
    pub fn app_config(mut self, extra: Value) -> TestServer {
        match extra {
            Value::Object(map) => {
                let app = self.last_app();
                for (key, value) in map {
                    merge(app.extra.entry(key).or_insert(Value::Null), value);
                }
            }
            other => panic!("app_config takes an object, got {other}"),
        }
        self
    }

    /// `gracefulShutdown.runtime` and `gracefulShutdown.application`, in ms.
    pub fn graceful(mut self, ms: u64) -> TestServer {
        self.graceful_ms = Some(ms);
        self
    }

    /// The `entrypoint` key.
    pub fn entrypoint(mut self, id: &str) -> TestServer {
        self.entrypoint = Some(id.to_string());
        self
    }

    /// A fixed ingress port instead of 0 (see [`crate::free_port`]).
    pub fn server_port(mut self, port: u16) -> TestServer {
        self.server_port = port;
        self
    }

    /// A fixed admin (metrics) port instead of 0.
    pub fn admin_port(mut self, port: u16) -> TestServer {
        self.admin_port = port;
        self
    }

    /// Top-level keys merged (deeply, for objects) over the generated config.
    pub fn config_json(mut self, extra: Value) -> TestServer {
        match extra {
            Value::Object(map) => {
                for (key, value) in map {
                    merge(self.extra.entry(key).or_insert(Value::Null), value);
                }
            }
            other => panic!("config_json takes an object, got {other}"),
        }
        self
    }

    /// Writes `text` as `spindle.json`, verbatim; the builder's apps and options are ignored.
    pub fn raw_config(mut self, text: &str) -> TestServer {
        self.source = ConfigSource::Raw(text.to_string());
        self
    }

    /// Runs `spindle start <dir>` with no config file, where `<dir>` is a fresh copy of the
    /// app in `app_dir` (its top-level files only).
    pub fn without_config(mut self, app_dir: impl Into<PathBuf>) -> TestServer {
        self.source = ConfigSource::None(app_dir.into());
        self
    }

    /// Runs `spindle start <dir>` on the project in `dir` (a fixture) in place, with nothing
    /// generated: spindle reads the project's own config and `.env` and writes nothing into
    /// it (its sockets go to the temp dir), so parallel tests can share one fixture. Its
    /// ports come from that config; override placeholders such as `{PORT}` with
    /// [`TestServer::process_env`].
    pub fn project(mut self, dir: impl Into<PathBuf>) -> TestServer {
        self.source = ConfigSource::Project(dir.into());
        self
    }

    /// An environment variable for the spindle process itself.
    pub fn process_env(mut self, key: &str, value: &str) -> TestServer {
        self.process_env.insert(key.to_string(), value.to_string());
        self
    }

    /// The config the builder generates (for `ConfigSource::Generated`).
    pub fn config(&self) -> Value {
        let apps: Vec<Value> = self
            .apps
            .iter()
            .map(|app| {
                let mut entry = json!({"id": app.id, "path": app.path});
                if let Some(workers) = app.workers {
                    entry["workers"] = json!(workers);
                }
                if !app.env.is_empty() {
                    entry["env"] = json!(app.env);
                }
                merge(&mut entry, Value::Object(app.extra.clone()));
                entry
            })
            .collect();
        let mut config = json!({
            "server": {"hostname": "127.0.0.1", "port": self.server_port},
            "metrics": {"hostname": "127.0.0.1", "port": self.admin_port},
            "applications": apps,
        });
        if let Some(ms) = self.graceful_ms {
            config["gracefulShutdown"] = json!({"runtime": ms, "application": ms});
        }
        if let Some(entrypoint) = &self.entrypoint {
            config["entrypoint"] = json!(entrypoint);
        }
        merge(&mut config, Value::Object(self.extra.clone()));
        config
    }

    /// Starts spindle and waits (up to 30 s) for its "spindle ready" line. Panics with all
    /// captured output when it exits first or the time runs out.
    pub async fn start(self) -> Running {
        let mut running = self.spawn().await;
        let ready = running
            .try_wait_log(|line| line.is_msg("spindle ready"), READY_TIMEOUT)
            .await;
        let line = match ready {
            Ok(line) => line,
            Err(why) => running.fail(&format!("spindle did not become ready: {why}")),
        };
        let url = line.str("url").map(str::to_string);
        let admin = line.str("admin").map(str::to_string);
        match (url, admin) {
            (Some(url), Some(admin)) => {
                running.url = Some(url.trim_end_matches('/').to_string());
                running.admin_url = Some(admin.trim_end_matches('/').to_string());
            }
            _ => running.fail(&format!(
                "the ready line lacks string fields `url` and `admin`: {}",
                line.text
            )),
        }
        running
    }

    /// Starts spindle without waiting for anything (for configs or apps that never become
    /// ready).
    pub async fn spawn(self) -> Running {
        let dir = TempDir::new();
        let bin = self.bin.clone().unwrap_or_else(spindle_bin);
        let mut command = Command::new(&bin);
        if self.bin.is_some() {
            command.env_remove("SPINDLE_ADDON").env_remove("SPINDLE_JS");
        }
        if self.dev {
            command.arg("dev").arg("--json");
        } else {
            command.arg("start");
        }
        let config_text = match &self.source {
            ConfigSource::Generated => {
                if self.apps.is_empty() {
                    panic!("TestServer needs at least one .app(..)");
                }
                let text = serde_json::to_string_pretty(&self.config()).unwrap();
                Some(text)
            }
            ConfigSource::Raw(text) => Some(text.clone()),
            ConfigSource::None(app_dir) => {
                copy_top_level_files(app_dir, dir.path());
                command.arg(dir.path());
                None
            }
            ConfigSource::Project(project) => {
                command.arg(project);
                None
            }
        };
        let config_path = config_text.as_ref().map(|text| {
            let path = dir.path().join("spindle.json");
            std::fs::write(&path, text).expect("write spindle.json");
            command.arg("-c").arg(&path);
            path
        });
        if let Some(node) = test_node() {
            command.arg("--node").arg(node);
        }
        // Tests find the server's directory under the temp dir unless they say otherwise.
        command
            .env_remove("XDG_RUNTIME_DIR")
            .current_dir(dir.path())
            .envs(&self.process_env);
        let project = match &self.source {
            ConfigSource::Project(project) => Some(project.clone()),
            _ => None,
        };
        let logs = LogBook::new();
        let child = Child::spawn(command, &logs)
            .unwrap_or_else(|err| panic!("spawn {}: {err}", bin.display()));
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
}

/// Deep-merges `patch` into `target`: objects key by key, anything else replaces.
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

fn copy_top_level_files(from: &Path, to: &Path) {
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|err| panic!("read {}: {err}", from.display()));
    for entry in entries {
        let entry = entry.expect("dir entry");
        if entry.file_type().is_ok_and(|kind| kind.is_file()) {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .unwrap_or_else(|err| panic!("copy {}: {err}", entry.path().display()));
        }
    }
}

/// A running (or exited) spindle process. Dropping it kills the process group it started
/// and removes its temp dir; when the test is failing it also prints everything captured.
pub struct Running {
    child: Child,
    logs: LogBook,
    url: Option<String>,
    admin_url: Option<String>,
    config_path: Option<PathBuf>,
    config_text: Option<String>,
    /// The project directory served in place ([`TestServer::project`]).
    project: Option<PathBuf>,
    dir: TempDir,
    /// Set once a panic message carried `describe()`, so drop does not print it again.
    described: AtomicBool,
}

impl Running {
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
        match self.scan_until(mark, pred, timeout).await {
            Ok(line) => line,
            Err(why) => self.fail(&format!("no matching log line: {why}")),
        }
    }

    /// Like [`Running::wait_log`] but returns the reason instead of panicking.
    pub async fn try_wait_log(
        &self,
        pred: impl FnMut(&LogLine) -> bool,
        timeout: Duration,
    ) -> Result<LogLine, String> {
        self.scan_until(0, pred, timeout).await
    }

    /// Like [`Running::wait_log_since`] but returns the reason instead of panicking (also
    /// for asserting that no such line comes within `timeout`).
    pub async fn try_wait_log_since(
        &self,
        mark: usize,
        pred: impl FnMut(&LogLine) -> bool,
        timeout: Duration,
    ) -> Result<LogLine, String> {
        self.scan_until(mark, pred, timeout).await
    }

    async fn scan_until(
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
            .scan_until(self.log_mark(), |_| false, Duration::from_secs(2))
            .await;
        status
    }

    /// Stdout lines only, as text.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|line| line.stream == crate::Stream::Stdout)
            .map(|line| line.text)
            .collect()
    }

    /// Stderr lines only, as text.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|line| line.stream == crate::Stream::Stderr)
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
