//! The config file as written: serde types that mirror the JSON, from which the schema is
//! generated. Defaults are filled in here (so the schema shows them); every other check is
//! validation's job.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{
    LogLevel, DEFAULT_APPLICATION_SHUTDOWN, DEFAULT_HOSTNAME, DEFAULT_LOG_LEVEL,
    DEFAULT_METRICS_ENABLED, DEFAULT_METRICS_HOSTNAME, DEFAULT_METRICS_PORT, DEFAULT_PORT,
    DEFAULT_RUNTIME_SHUTDOWN, DEFAULT_WORKERS,
};
use crate::integer::Integer;
use crate::object::Object;

/// Configuration of a Spindle server (`spindle.json`; Watt's `watt.json` is read the same way).
///
/// Every string may contain `{VAR}` or `{{VAR}}` placeholders, replaced by environment
/// variables (or the `.env` file next to this file); `PLT_ROOT` is this file's directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Spindle configuration")]
pub(crate) struct RawConfig {
    /// URL or path of this JSON Schema, for editors. Ignored by Spindle.
    #[serde(rename = "$schema")]
    pub _schema: Option<String>,
    /// Id of the application that receives public traffic. Optional when there is a single
    /// application or one is marked `"entrypoint": true`.
    pub entrypoint: Option<String>,
    /// Applications to run, in order. `services` and `web` are accepted as aliases (Watt).
    #[serde(default, alias = "services", alias = "web")]
    pub applications: Vec<Object<RawApplication>>,
    /// Run every subdirectory of a directory as an application.
    pub autoload: Option<Object<RawAutoload>>,
    /// The public HTTP server.
    #[serde(default)]
    pub server: Object<RawServer>,
    /// Shutdown deadlines, in milliseconds.
    #[serde(default)]
    pub graceful_shutdown: Object<RawGracefulShutdown>,
    /// The admin server: health probes (`/live`, `/ready`) and metrics.
    #[serde(default)]
    pub metrics: Object<RawMetrics>,
    /// Logging.
    #[serde(default)]
    pub logger: Object<RawLogger>,
}

/// One application.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Application")]
pub(crate) struct RawApplication {
    /// Unique id: letters, digits, `-` and `_`, starting with a letter or digit, at most 63
    /// characters. Other applications reach it at `http://<id>.plt.local`.
    pub id: String,
    /// The application's directory (or its entry file), relative to this file. In a
    /// directory the entry is `package.json`'s `main`, else the first of `index.js`,
    /// `index.mjs`, `index.cjs`, `server.js`, `server.mjs`, `app.js`, `app.mjs`, `main.js`.
    pub path: String,
    /// Number of workers (threads) running the application.
    #[serde(default = "default_workers")]
    #[schemars(range(min = 1))]
    pub workers: Integer,
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
}

/// The public HTTP server.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Server")]
pub(crate) struct RawServer {
    /// Interface to listen on.
    #[serde(default = "default_hostname")]
    pub hostname: String,
    /// Port to listen on; `0` picks a free port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Integer,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            hostname: default_hostname(),
            port: default_port(),
        }
    }
}

/// Shutdown deadlines, in milliseconds.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "GracefulShutdown")]
pub(crate) struct RawGracefulShutdown {
    /// How long the whole server may take to stop.
    #[serde(default = "default_runtime_shutdown")]
    #[schemars(range(min = 0))]
    pub runtime: Integer,
    /// How long one application's workers may take to stop before they are terminated.
    #[serde(default = "default_application_shutdown")]
    #[schemars(range(min = 0))]
    pub application: Integer,
}

impl Default for RawGracefulShutdown {
    fn default() -> Self {
        Self {
            runtime: default_runtime_shutdown(),
            application: default_application_shutdown(),
        }
    }
}

/// The admin server: health probes and metrics.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Metrics")]
pub(crate) struct RawMetrics {
    /// Whether the admin server runs.
    #[serde(default = "default_metrics_enabled")]
    pub enabled: bool,
    /// Interface to listen on.
    #[serde(default = "default_metrics_hostname")]
    pub hostname: String,
    /// Port to listen on; `0` picks a free port.
    #[serde(default = "default_metrics_port")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Integer,
}

impl Default for RawMetrics {
    fn default() -> Self {
        Self {
            enabled: default_metrics_enabled(),
            hostname: default_metrics_hostname(),
            port: default_metrics_port(),
        }
    }
}

/// Logging.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Logger")]
pub(crate) struct RawLogger {
    /// Least severe level that is logged.
    #[serde(default = "default_log_level")]
    pub level: LogLevel,
}

impl Default for RawLogger {
    fn default() -> Self {
        Self {
            level: default_log_level(),
        }
    }
}

// serde's `default = "..."` wants functions; each one only restates a `DEFAULT_*` constant.

fn default_workers() -> Integer {
    DEFAULT_WORKERS.get().into()
}

fn default_hostname() -> String {
    DEFAULT_HOSTNAME.to_owned()
}

fn default_port() -> Integer {
    DEFAULT_PORT.into()
}

fn default_runtime_shutdown() -> Integer {
    millis(DEFAULT_RUNTIME_SHUTDOWN)
}

fn default_application_shutdown() -> Integer {
    millis(DEFAULT_APPLICATION_SHUTDOWN)
}

fn default_metrics_enabled() -> bool {
    DEFAULT_METRICS_ENABLED
}

fn default_metrics_hostname() -> String {
    DEFAULT_METRICS_HOSTNAME.to_owned()
}

fn default_metrics_port() -> Integer {
    DEFAULT_METRICS_PORT.into()
}

fn default_log_level() -> LogLevel {
    DEFAULT_LOG_LEVEL
}

fn millis(duration: std::time::Duration) -> Integer {
    Integer(duration.as_millis() as i128)
}
