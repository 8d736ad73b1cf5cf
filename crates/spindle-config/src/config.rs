//! The validated configuration the rest of Spindle reads, and its defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};

use crate::edge::EdgeConfig;
use crate::health::{FaultConfig, HealthConfig};
use crate::https::HttpsConfig;
use crate::scaling::{AppScaling, ScalingConfig};

/// Public server hostname when `server.hostname` is not set: loopback, so a bare `spindle
/// start` is not reachable from the network by accident.
pub const DEFAULT_HOSTNAME: &str = "127.0.0.1";
/// Public server port when `server.port` is not set (Watt's customary port).
pub const DEFAULT_PORT: u16 = 3042;
/// Workers per application when `workers` is not set (the number to start with, when the
/// top-level `workers.dynamic` makes it scale).
pub const DEFAULT_WORKERS: NonZeroU32 = NonZeroU32::MIN;
/// How long the whole runtime may take to shut down (`gracefulShutdown.runtime`, Watt's default).
pub const DEFAULT_RUNTIME_SHUTDOWN: Duration = Duration::from_secs(30);
/// How long one application may take to stop (`gracefulShutdown.application`, Watt's default).
pub const DEFAULT_APPLICATION_SHUTDOWN: Duration = Duration::from_secs(10);
/// How long a mesh request (one application calling another at `http://<id>.plt.local`) may
/// wait for the callee's response head before the caller is answered 504 (`applicationTimeout`,
/// Watt's default).
pub const DEFAULT_APPLICATION_TIMEOUT: Duration = Duration::from_secs(300);
/// Whether the admin server (probes, metrics) runs when `metrics.enabled` is not set.
pub const DEFAULT_METRICS_ENABLED: bool = true;
/// Admin server hostname: loopback by default, unlike Watt's `0.0.0.0`, because it exposes
/// internals.
pub const DEFAULT_METRICS_HOSTNAME: &str = "127.0.0.1";
/// Admin server port (Watt's default).
pub const DEFAULT_METRICS_PORT: u16 = 9090;
/// Path of the Prometheus endpoint on the admin server (Watt's default).
pub const DEFAULT_METRICS_ENDPOINT: &str = "/metrics";
/// Name of the label that carries the application's id (`metrics.applicationLabel`). Watt's
/// default is `applicationId`; Spindle keeps the short name its own dashboards use.
pub const DEFAULT_APPLICATION_LABEL: &str = "app";
/// Name of the label that carries the worker's id, `app:n` (`metrics.workerLabel`).
pub const DEFAULT_WORKER_LABEL: &str = "worker";
/// Whether the management API socket is served when `managementApi` is not set (Watt's
/// default).
pub const DEFAULT_MANAGEMENT_API: bool = true;
/// How long a worker may take to start when `startTimeout` is not set (Watt's default).
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Log level when `logger.level` is not set.
pub const DEFAULT_LOG_LEVEL: LogLevel = LogLevel::Info;

/// A loaded and validated configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The config file, or `None` when a directory is served without one.
    pub source: Option<PathBuf>,
    /// Directory of the config file (or the served directory); relative paths start here.
    pub root: PathBuf,
    /// Id of the application that receives public traffic.
    pub entrypoint: String,
    /// Configured applications in config order, then autoloaded ones sorted by id.
    pub applications: Vec<AppConfig>,
    /// The public server.
    pub server: ServerConfig,
    /// Shutdown deadlines.
    pub graceful_shutdown: GracefulShutdown,
    /// The admin server: probes and metrics.
    pub metrics: MetricsConfig,
    /// OpenTelemetry traces (`telemetry`), when enabled.
    pub telemetry: Option<crate::telemetry::TelemetryConfig>,
    /// Logging.
    pub logger: LoggerConfig,
    /// The longest a mesh request waits for the callee's response head before the caller is
    /// answered 504.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub application_timeout: Duration,
    /// Which applications may not call each other over the mesh.
    pub policies: Policies,
    /// The dynamic scaler's settings (the top-level `workers`).
    pub scaling: ScalingConfig,
    /// Whether the management API socket is served (`managementApi`).
    pub management_api: bool,
    /// Whether applications are restarted when their files change (`watch`), as in dev mode.
    pub watch: bool,
    /// Keys accepted for compatibility with Watt that have no effect, one warning each; the
    /// CLI prints them once at start.
    #[serde(skip)]
    pub warnings: Vec<crate::warning::Warning>,
    /// The top-level health and fault values merged over the defaults: what an application
    /// with none of its own gets (autoloaded ones, and apps added at run time).
    #[serde(skip)]
    pub app_defaults: AppDefaults,
}

/// Settings of an application that has none of its own (see [`Config::app_defaults`]), and
/// what every application takes from the top level.
#[derive(Debug, Clone, PartialEq)]
pub struct AppDefaults {
    /// The top-level `health` over the defaults.
    pub health: HealthConfig,
    /// The top-level fault keys over the defaults.
    pub faults: FaultConfig,
    /// The top-level `env`: over every source but an application's own `env`.
    pub env: BTreeMap<String, String>,
    /// The variables of the top-level `envfile`: over the root `.env`, under the rest.
    pub envfile: BTreeMap<String, String>,
    /// The top-level `preload`, as `--import` options.
    pub preload: Vec<String>,
    /// The top-level `sourceMaps`.
    pub source_maps: bool,
    /// `startTimeout`.
    pub start_timeout: Duration,
}

impl Default for AppDefaults {
    fn default() -> Self {
        Self {
            health: HealthConfig::default(),
            faults: FaultConfig::default(),
            env: BTreeMap::new(),
            envfile: BTreeMap::new(),
            preload: Vec::new(),
            source_maps: false,
            start_timeout: DEFAULT_START_TIMEOUT,
        }
    }
}

impl AppDefaults {
    /// The Node options of a worker whose application sets none of its own.
    pub fn worker_options(&self) -> Vec<String> {
        let mut options = self.preload.clone();
        if self.source_maps {
            options.push("--enable-source-maps".to_owned());
        }
        options
    }
}

impl Config {
    /// The application with this id.
    pub fn application(&self, id: &str) -> Option<&AppConfig> {
        self.applications.iter().find(|app| app.id == id)
    }

    /// Whether any application scales dynamically, i.e. whether the scaler has work to do.
    pub fn scales_dynamically(&self) -> bool {
        self.applications.iter().any(|app| app.scaling.dynamic)
    }
}

/// One application: a Node.js program run by one or more workers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppConfig {
    /// Unique id, a DNS label (it becomes the `<id>.plt.local` mesh host).
    pub id: String,
    /// Absolute application directory.
    pub path: PathBuf,
    /// Absolute file each worker imports.
    pub entry: PathBuf,
    /// Number of workers to start with: the fixed count, or for a dynamically scaled
    /// application a number within `scaling` (its minimum when it gave a range).
    pub workers: NonZeroU32,
    /// The range the number of workers may move in; a fixed count is `min == max == workers`.
    pub scaling: AppScaling,
    /// The full environment of the app's workers: root `.env` < app `.env` < `envfile` <
    /// process environment < config `env`, plus `PORT` when none of them sets it.
    pub env: BTreeMap<String, String>,
    /// How its workers' health is judged: the application's `health` merged key by key over
    /// the top-level one, over the defaults.
    pub health: HealthConfig,
    /// Crash and overload handling: each key from the application, else the top level, else
    /// the default.
    pub faults: FaultConfig,
    /// What the application is, as its own Watt config says (a plain Node.js app unless it
    /// names another capability).
    pub kind: AppKind,
    /// Node options given to each worker thread (`preload`, `sourceMaps`, `execArgv`,
    /// `nodeOptions`), only those a worker thread accepts.
    pub exec_argv: Vec<String>,
    /// Extra `process.argv` of each worker (`arguments`).
    pub arguments: Vec<String>,
    /// How long a worker may take, from the start of its thread, to listen (`startTimeout`).
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub start_timeout: Duration,
    /// Ids of the applications whose workers must all be ready (or that must have failed)
    /// before this application's workers start (`dependencies`, Watt's start order).
    pub dependencies: Vec<String>,
}

/// What kind of application Spindle runs: Watt's capability, as named by the `$schema` or
/// `module` of the application's own config.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum AppKind {
    /// A Node.js program (`@platformatic/node`, or no config of its own): its entry file is
    /// loaded as-is.
    Node,
    /// A Next.js project (`@platformatic/next`), served from its production build by Next's
    /// own server (see [`crate::next`]).
    Next {
        /// The application's own config file.
        config: PathBuf,
        /// Its `next` options, as written.
        options: serde_json::Value,
        /// Its `application.basePath`, cleaned as Next takes it (`/shop`); `None` for none
        /// or the root.
        base_path: Option<String>,
        /// Its `application.commands.build`, which `spindle build` runs instead of
        /// `next build`.
        build_command: Option<String>,
    },
}

/// The public server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerConfig {
    /// Interface to listen on.
    pub hostname: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// `listen(2)`'s backlog; `None` for the system's default.
    pub backlog: Option<u32>,
    /// Applications mounted by path prefix, longest prefix first (so the first route that
    /// matches is the most specific); paths no route matches go to the entrypoint. Empty by
    /// default.
    pub routes: Vec<Route>,
    /// Timeouts, limits and trusted proxies.
    #[serde(flatten)]
    pub edge: EdgeConfig,
    /// TLS on this port: its keys and certificates.
    pub https: Option<HttpsConfig>,
    /// HTTP/2 too: over TLS by ALPN, and in clear text by prior knowledge.
    pub http2: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            edge: EdgeConfig::default(),
            hostname: DEFAULT_HOSTNAME.to_owned(),
            port: DEFAULT_PORT,
            backlog: None,
            routes: Vec::new(),
            https: None,
            http2: false,
        }
    }
}

/// One application mounted on the public port (`server.routes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Path prefix such as `/api`: starts with `/`, is not `/` itself, does not end with `/`,
    /// and holds no `?`, `#` or whitespace.
    pub prefix: String,
    /// Id of the application it goes to; one of the config's applications.
    pub app: String,
}

/// Shutdown deadlines; in JSON they are milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GracefulShutdown {
    /// Deadline for the whole runtime to stop.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub runtime: Duration,
    /// Deadline for one application's workers to stop before they are terminated.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub application: Duration,
    /// Whether clients are asked to close their connections once the server is stopping.
    pub close_connections: bool,
}

impl Default for GracefulShutdown {
    fn default() -> Self {
        Self {
            runtime: DEFAULT_RUNTIME_SHUTDOWN,
            application: DEFAULT_APPLICATION_SHUTDOWN,
            close_connections: true,
        }
    }
}

/// Mesh access rules (Watt's `policies`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policies {
    /// Pairs of applications (caller, callee) with no mesh calls between them. Every pair is
    /// held in both orders, since a `deny` entry forbids calls in either direction; both ids
    /// are applications of the config, and never the same one.
    pub deny: BTreeSet<(String, String)>,
}

impl Policies {
    /// Whether application `from` may not call application `to` over the mesh.
    pub fn denies(&self, from: &str, to: &str) -> bool {
        // A scan rather than a lookup: a lookup would need owned strings, and deny lists are
        // short (usually empty).
        self.deny.iter().any(|(a, b)| a == from && b == to)
    }
}

/// The admin server: health probes (`/live`, `/ready`, `/status`) and Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricsConfig {
    /// Whether it runs at all.
    pub enabled: bool,
    /// Interface to listen on.
    pub hostname: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Path of the metrics endpoint: starts with `/`, has no whitespace, `?` or `#`, and is
    /// none of the probe paths.
    pub endpoint: String,
    /// HTTP basic auth for the metrics endpoint only: the probes stay open, since
    /// orchestrators call them without credentials. `None`: the endpoint is open too.
    pub auth: Option<MetricsAuth>,
    /// Static labels added to every metric; the names are valid Prometheus label names and
    /// none of the labels Spindle sets itself.
    pub labels: BTreeMap<String, String>,
    /// Name of the label that carries the application's id: a valid label name that no other
    /// label of Spindle's uses.
    pub application_label: String,
    /// Name of the label that carries the worker's id (`app:n`); differs from
    /// `application_label`.
    pub worker_label: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: DEFAULT_METRICS_ENABLED,
            hostname: DEFAULT_METRICS_HOSTNAME.to_owned(),
            port: DEFAULT_METRICS_PORT,
            endpoint: DEFAULT_METRICS_ENDPOINT.to_owned(),
            auth: None,
            labels: BTreeMap::new(),
            application_label: DEFAULT_APPLICATION_LABEL.to_owned(),
            worker_label: DEFAULT_WORKER_LABEL.to_owned(),
        }
    }
}

/// Credentials for HTTP basic auth on the metrics endpoint. The password is shown as `***`
/// when the config is serialized (as `spindle check` prints it) or debug-printed.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct MetricsAuth {
    /// User name; not empty.
    pub username: String,
    /// Password; not empty.
    #[serde(serialize_with = "redacted")]
    pub password: String,
}

impl fmt::Debug for MetricsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsAuth")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .finish()
    }
}

/// What a secret is shown as.
const REDACTED: &str = "***";

fn redacted<S: Serializer>(_: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(REDACTED)
}

/// Logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LoggerConfig {
    /// Least severe level that is logged.
    pub level: LogLevel,
}

impl Default for LoggerConfig {
    fn default() -> Self {
        Self {
            level: DEFAULT_LOG_LEVEL,
        }
    }
}

/// Log levels, named as in pino (and Watt).
// tracing has no `fatal`; the core maps it to `error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything, including per-request detail.
    Trace,
    /// Diagnostics for developers.
    Debug,
    /// Lifecycle events.
    Info,
    /// Something went wrong and was handled.
    Warn,
    /// Something failed.
    Error,
    /// The process cannot go on.
    Fatal,
    /// Nothing at all.
    Silent,
}

impl LogLevel {
    /// The level's name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Fatal => "fatal",
            Self::Silent => "silent",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
