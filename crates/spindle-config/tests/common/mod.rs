//! A temporary project directory to load configs from.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use spindle_config::{AppConfig, Config, ConfigError, LoadOptions};

/// The smallest config that loads: one app `api` at `api/`.
pub const ONE_APP: &str = r#"{ "applications": [{ "id": "api", "path": "api" }] }"#;

/// A fresh directory under the system temp dir, removed on drop.
pub struct Project {
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

impl Project {
    pub fn new(name: &str) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "spindle-config-{name}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(unique).join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create project dir");
        Self {
            dir,
            env: BTreeMap::new(),
        }
    }

    /// A project with apps `api` and `web` on disk and `config` as its spindle.json.
    pub fn with_apps(name: &str, config: &str) -> Self {
        let project = Self::new(name);
        project.app("api").app("web").config(config);
        project
    }

    /// A project with app `api` and a spindle.json of `ONE_APP`'s application list and the
    /// top-level `keys`, written from the second line on (as positions in messages count).
    pub fn one_app(name: &str, keys: &str) -> Self {
        let project = Self::new(name);
        project.app("api").config(&format!(
            "{{ \"applications\": [{{ \"id\": \"api\", \"path\": \"api\" }}],\n  {keys} }}"
        ));
        project
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a file, creating its parent directories.
    pub fn file(&self, relative: &str, contents: &str) -> &Self {
        let file = self.dir.join(relative);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, contents).unwrap();
        self
    }

    /// An app directory with an `index.js`.
    pub fn app(&self, relative: &str) -> &Self {
        self.file(&format!("{relative}/index.js"), "")
    }

    pub fn config(&self, json: &str) -> &Self {
        self.file("spindle.json", json)
    }

    /// Sets a variable of the injected process environment.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            config: None,
            dir: self.dir.clone(),
            env: self.env.clone(),
        }
    }

    pub fn load(&self) -> Result<Config, ConfigError> {
        spindle_config::load(&self.options())
    }

    pub fn config_ok(&self) -> Config {
        self.load()
            .unwrap_or_else(|e| panic!("config should load: {e}"))
    }

    /// The error's Display with the project directory shown as `/x`.
    pub fn error(&self) -> String {
        match self.load() {
            Ok(config) => panic!("expected an error, got {config:#?}"),
            Err(error) => error
                .to_string()
                .replace(&*self.dir.to_string_lossy(), "/x"),
        }
    }

    /// The file the first application is loaded from.
    pub fn entry(&self) -> PathBuf {
        self.config_ok().applications.remove(0).entry
    }

    /// The config's warnings, the project directory shown as `/x`.
    pub fn warnings(&self) -> Vec<String> {
        let config = self.config_ok();
        let dir = self.dir.display().to_string();
        config
            .warnings
            .iter()
            .map(|w| w.to_string().replace(&dir, "/x"))
            .collect()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

/// `config` loaded in a project with apps `api` and `web`.
pub fn load(name: &str, config: &str) -> Config {
    Project::with_apps(name, config).config_ok()
}

/// The application `id` of a loaded config.
pub fn app<'c>(config: &'c Config, id: &str) -> &'c AppConfig {
    config
        .application(id)
        .unwrap_or_else(|| panic!("no application {id}"))
}

/// Passes when the committed file at `relative` (from the repository root) is `generated`;
/// rewrites it instead when the variable `update` is set. `stale` says how to regenerate.
pub fn committed_is(relative: &str, generated: &str, update: &str, stale: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    if std::env::var_os(update).is_some() {
        fs::write(&path, generated).unwrap();
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "{stale}");
}

impl Drop for Project {
    fn drop(&mut self) {
        if let Some(parent) = self.dir.parent() {
            let _ = fs::remove_dir_all(parent);
        }
    }
}
