//! An application between the two steps of [`apps`](crate::apps): checked against the
//! rules, its entry file and environment not resolved yet. The steps that relate
//! applications (dependencies, entrypoint, policies, the `server.routes` prefixes) read this list.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;

use crate::health::{FaultConfig, HealthConfig};
use crate::keypath::KeyPath;
use crate::scaling::AppScaling;

/// An application whose entry file and environment are not resolved yet.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) id: String,
    /// Absolute path as configured: the app's directory or its entry file.
    pub(crate) path: PathBuf,
    /// The number of workers to start with.
    pub(crate) workers: NonZeroU32,
    /// The range the number of workers may move in.
    pub(crate) scaling: AppScaling,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) envfile: Option<String>,
    pub(crate) entrypoint: bool,
    pub(crate) health: HealthConfig,
    pub(crate) faults: FaultConfig,
    pub(crate) origin: Origin,
    /// The application's own config file (`config`), relative to its directory.
    pub(crate) config_file: Option<String>,
    /// Extra `process.argv` of its workers.
    pub(crate) arguments: Vec<String>,
    /// Node options of its workers, all of them per-thread.
    pub(crate) exec_argv: Vec<String>,
    /// Ids of the applications that must have started before this one starts.
    pub(crate) dependencies: Vec<String>,
}

/// Where errors about an application point.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// An entry of the application list, e.g. `applications[2]`.
    Configured(KeyPath),
    /// A directory found by autoload; errors point at `autoload.path`.
    Autoloaded(KeyPath),
}

impl Origin {
    /// The path of one of the application's keys (for autoloaded ones: `autoload.path`).
    pub(crate) fn key(&self, key: &str) -> KeyPath {
        match self {
            Self::Configured(app) => app.key(key),
            Self::Autoloaded(autoload_path) => autoload_path.clone(),
        }
    }
}

/// The ids of `apps` in order, as listed in error messages: `api, web`.
pub(crate) fn ids(apps: &[Declared]) -> String {
    apps.iter()
        .map(|app| app.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
