//! A temporary project directory to load configs from.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use spindle_config::{Config, ConfigError, LoadOptions};

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

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if let Some(parent) = self.dir.parent() {
            let _ = fs::remove_dir_all(parent);
        }
    }
}
