//! `TestServer` writes a `spindle.json` and starts the real binary (the live process is a
//! [`Running`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use tokio::process::Command;

use crate::logs::LogBook;
use crate::paths::{spindle_bin, test_node};
use crate::process::Child;
use crate::running::Running;
use crate::tempdir::TempDir;

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
    /// app in `app_dir` (its top-level files only, and the fixtures' `shared` folder beside
    /// it).
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
        running.wait_ready().await;
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
                command.arg(copy_fixture(app_dir, dir.path()));
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
        Running::new(child, logs, dir, config_path, config_text, project)
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

/// Copies the top-level files of the app in `app_dir` to a folder of the same name in `to`,
/// and the fixtures' `shared` folder (which the fixtures require by relative path) beside
/// it, as they sit in `tests/fixtures`; returns the app's copy.
fn copy_fixture(app_dir: &Path, to: &Path) -> PathBuf {
    let name = app_dir
        .file_name()
        .unwrap_or_else(|| panic!("an app dir with a name: {}", app_dir.display()));
    let app_copy = to.join(name);
    copy_top_level_files(app_dir, &app_copy);
    if let Some(shared) = app_dir.parent().map(|fixtures| fixtures.join("shared")) {
        if shared.is_dir() {
            copy_top_level_files(&shared, &to.join("shared"));
        }
    }
    app_copy
}

fn copy_top_level_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|err| panic!("create {}: {err}", to.display()));
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
