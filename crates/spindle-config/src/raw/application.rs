//! An application as written, and `autoload`, which finds applications in a directory.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::health::MAX_STANDBY_WORKERS;
use crate::integer::Integer;
use crate::object::Object;
use crate::raw::health::RawHealth;
use crate::raw::workers::RawAppWorkers;

/// One application: a Node.js app run in its own worker threads.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Application")]
pub(crate) struct RawApplication {
    /// Unique id: letters, digits, `-` and `_`, starting with a letter or digit, at most 63
    /// characters. Other applications reach it at `http://<id>.plt.local`.
    pub id: String,
    /// The application's directory (or its entry file), relative to this file. Required
    /// (except in `autoload.mappings`, where the directory is the mapping's). In a directory
    /// the entry is, as in Watt: `node.main` of the application's own `watt.json` (or
    /// `platformatic.json`), else `package.json`'s `main`, else its `exports`, else the first
    /// of `index`, `main`, `app`, `application`, `server`, `start`, `bundle`, `run`,
    /// `entrypoint`, each as `.js`, `.mjs`, `.cjs`.
    pub path: Option<String>,
    /// The application's own config file, relative to its directory, instead of `watt.json`
    /// or `platformatic.json`.
    pub config: Option<String>,
    /// Whether the application runs at all; `false` skips it as if it were not listed.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Extra command-line arguments of the application's workers (`process.argv`).
    #[serde(default)]
    pub arguments: Vec<String>,
    /// Ids of applications this one needs: its workers start once all of theirs are ready
    /// (as Watt orders its start). A cycle or an unknown id is an error.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Modules each worker imports before the application, after the top-level `preload`;
    /// paths are relative to the application's directory, or package names.
    #[serde(default)]
    pub preload: Vec<String>,
    /// Overrides the top-level `sourceMaps` for this application.
    pub source_maps: Option<bool>,
    /// Node options for the application's workers, space-separated, as in `NODE_OPTIONS`.
    /// Those a worker thread takes (`--import`, `--require`, `--conditions`,
    /// `--enable-source-maps`, `--experimental-*`, warning flags...) are applied; the rest are
    /// process-wide in Node and named in a warning at start.
    pub node_options: Option<String>,
    /// Node options for the application's workers, one per item; applied as `nodeOptions`.
    #[serde(default)]
    pub exec_argv: Vec<String>,
    /// Number of workers (threads) running the application: a number for a fixed count, or an
    /// object, `{"static": 4}` for a fixed count or `{"minimum": 2, "maximum": 8}` for a range
    /// the dynamic scaler moves the count in (starting at `minimum`). A number scales too when
    /// the top-level `workers.dynamic` is true: it is then the count to start with.
    #[schemars(with = "RawAppWorkers")]
    pub workers: Option<RawAppWorkers>,
    /// Environment variables for the application's workers; they override every other
    /// source.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// An extra env file, relative to the application's directory. It overrides the
    /// application's `.env` and is overridden by the process environment.
    pub envfile: Option<String>,
    /// Marks this application as the one that receives public traffic.
    #[serde(default)]
    pub entrypoint: bool,
    /// Health checks of this application's workers; each key given here overrides the
    /// top-level `health`.
    pub health: Option<Object<RawHealth>>,
    /// Overrides the top-level `maxFailedStarts` for this application.
    #[schemars(range(min = 1))]
    pub max_failed_starts: Option<Integer>,
    /// Overrides the top-level `maxInFlightPerWorker` for this application.
    #[schemars(range(min = 1))]
    pub max_in_flight_per_worker: Option<Integer>,
    /// Overrides the top-level `queueTimeout` (milliseconds) for this application.
    #[schemars(range(min = 1))]
    pub queue_timeout: Option<Integer>,
    /// Overrides the top-level `exitOnUnhandledErrors` for this application.
    pub exit_on_unhandled_errors: Option<bool>,
    /// Overrides the top-level `standbyWorkers` for this application.
    #[schemars(range(min = 0, max = MAX_STANDBY_WORKERS))]
    pub standby_workers: Option<Integer>,
    /// Overrides the top-level `responseTimeout` (milliseconds, `0` for none) for this
    /// application.
    #[schemars(range(min = 0))]
    pub response_timeout: Option<Integer>,
}

/// Applications discovered from the subdirectories of a directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Autoload")]
pub(crate) struct RawAutoload {
    /// Directory whose immediate subdirectories each become an application, with the
    /// directory's name as id. Hidden directories and `node_modules` are skipped.
    pub path: String,
    /// Names of subdirectories to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Settings of some of the subdirectories, by directory name: an application entry
    /// without `path` (its `id` replaces the directory's name).
    #[serde(default)]
    pub mappings: BTreeMap<String, Object<RawApplication>>,
}

fn default_enabled() -> bool {
    true
}
