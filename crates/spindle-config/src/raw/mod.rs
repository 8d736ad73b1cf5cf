//! The config file as written: serde types that mirror the JSON, from which the schema is
//! generated. Defaults are filled in here (so the schema shows them); every other check is
//! validation's job.
//!
//! A file per section: `application` (an application and `autoload`), `server`, `health`,
//! `workers` (the scaler and an application's count or range), `metrics`, `telemetry`; the
//! top level and its small sections are here. Importers name the section's file
//! (`raw::telemetry::RawTelemetry`): a section's reader below `config` (`telemetry.rs`) then
//! depends on that file alone, not on this one, which imports `config` for its defaults.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{
    LogLevel, DEFAULT_APPLICATION_SHUTDOWN, DEFAULT_APPLICATION_TIMEOUT, DEFAULT_LOG_LEVEL,
    DEFAULT_MANAGEMENT_API, DEFAULT_RUNTIME_SHUTDOWN, DEFAULT_START_TIMEOUT,
};
use crate::edge::DEFAULT_RESPONSE_TIMEOUT;
use crate::health::{
    DEFAULT_EXIT_ON_UNHANDLED_ERRORS, DEFAULT_GRACE_PERIOD, DEFAULT_HEALTH_ENABLED,
    DEFAULT_HEALTH_INTERVAL, DEFAULT_MAX_ELU, DEFAULT_MAX_FAILED_STARTS, DEFAULT_MAX_HEAP_TOTAL,
    DEFAULT_MAX_HEAP_USED, DEFAULT_MAX_IN_FLIGHT_PER_WORKER, DEFAULT_MAX_STALL,
    DEFAULT_MAX_UNHEALTHY_CHECKS, DEFAULT_MAX_YOUNG_GENERATION, DEFAULT_QUEUE_TIMEOUT,
    DEFAULT_SAMPLE_INTERVAL, MAX_STANDBY_WORKERS,
};
use crate::integer::Integer;
use crate::object::Object;
use crate::scaling::{
    DEFAULT_DYNAMIC_WORKERS, DEFAULT_MINIMUM_WORKERS, DEFAULT_SCALE_DOWN_ELU, DEFAULT_SCALE_UP_ELU,
    DEFAULT_SCALING_COOLDOWN, DEFAULT_SCALING_GRACE_PERIOD,
};

pub(crate) mod application;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod server;
pub(crate) mod telemetry;
pub(crate) mod workers;

use application::{RawApplication, RawAutoload};
use health::RawHealth;
use metrics::RawMetrics;
use server::RawServer;
use telemetry::RawTelemetry;
use workers::RawWorkers;

/// Configuration of a Spindle server (`spindle.json`; Watt's `watt.json` is read the same way).
///
/// Every string may contain `{VAR}` or `{{VAR}}` placeholders, replaced by environment
/// variables (or the `.env` file next to this file); `PLT_ROOT` is this file's directory.
/// A backslash before one keeps it as text: `"\\{id}"` in JSON is the string `{id}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Spindle configuration")]
pub(crate) struct RawConfig {
    /// URL or path of this JSON Schema, for editors. Ignored by Spindle.
    #[serde(rename = "$schema")]
    pub _schema: Option<String>,
    /// The kind of config, as Watt names it (`@platformatic/runtime`). Ignored by Spindle.
    #[serde(rename = "module")]
    pub _module: Option<String>,
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
    /// OpenTelemetry traces of every request, opened and exported by the core (Watt's
    /// `telemetry`): a server span per public request, a client and a server span per mesh
    /// call, and a W3C `traceparent` in the head each application receives.
    pub telemetry: Option<Object<RawTelemetry>>,
    /// The coordinator's own log lines. Applications' output is not filtered by it: every line
    /// a worker writes is passed on, labelled with `app` and `worker`.
    #[serde(default)]
    pub logger: Object<RawLogger>,
    /// Health checks of every application's workers. An application's own `health` overrides
    /// these key by key.
    #[serde(default)]
    #[schemars(default = "default_health")]
    pub health: Object<RawHealth>,
    /// Starts in a row that crash soon after starting before an application is marked failed.
    /// An application's own value overrides this one.
    #[serde(default = "default_max_failed_starts")]
    #[schemars(range(min = 1))]
    pub max_failed_starts: Integer,
    /// Requests one worker handles at once; more wait in the application's queue. An
    /// application's own value overrides this one.
    #[serde(default = "default_max_in_flight_per_worker")]
    #[schemars(range(min = 1))]
    pub max_in_flight_per_worker: Integer,
    /// Milliseconds a request may wait in the queue before it is answered 503. An
    /// application's own value overrides this one.
    #[serde(default = "default_queue_timeout")]
    #[schemars(range(min = 1))]
    pub queue_timeout: Integer,
    /// Whether an uncaught exception or unhandled rejection ends the worker (`true`) or is only
    /// logged (`false`). An application's own value overrides this one.
    #[serde(default = "default_exit_on_unhandled_errors")]
    pub exit_on_unhandled_errors: bool,
    /// Workers per application started ahead of need: loaded and listening, but sent no
    /// requests. When a worker crashes, turns unhealthy or the app scales up, a standby worker
    /// takes its place at once instead of a cold start, and a new standby is started behind
    /// it. Each costs the memory of one idle worker; it does not count toward `workers` or the
    /// scaling budget. Unset: none until the application's first crash or unhealthy worker,
    /// one from then on; `0`: never. An application's own value overrides this one.
    #[schemars(range(min = 0, max = MAX_STANDBY_WORKERS))]
    pub standby_workers: Option<Integer>,
    /// Milliseconds a public request's worker may take to begin its answer before the
    /// client is answered 504 (naming the application and worker) and the application's
    /// request is cancelled; `0` for no limit. An application's own value overrides this
    /// one.
    #[serde(default = "default_response_timeout")]
    #[schemars(range(min = 0))]
    pub response_timeout: Integer,
    /// Milliseconds an application calling another over the mesh (`http://<id>.plt.local`)
    /// waits for the response head before it is answered 504.
    #[serde(default = "default_application_timeout")]
    #[schemars(range(min = 1))]
    pub application_timeout: Integer,
    /// Which applications may not call each other over the mesh.
    #[serde(default)]
    pub policies: Object<RawPolicies>,
    /// Dynamic scaling of workers (Watt's runtime-level `workers`). With `dynamic` true,
    /// every application whose `workers` is a number (or not given) scales between `minimum`
    /// and `maximum` too; an application's own `workers` object always decides for itself.
    #[serde(default)]
    #[schemars(default = "default_scaling")]
    pub workers: Object<RawWorkers>,
    /// Environment variables for every application's workers; an application's own `env`
    /// overrides them key by key.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// An env file, relative to this file, read for every application after the `.env` next
    /// to this file (and before the application's own files).
    pub envfile: Option<String>,
    /// Restart an application (replace-before-stop) when its files change, as `spindle dev`
    /// does. Watt writes `true` in new projects.
    #[serde(default)]
    pub watch: bool,
    /// Whether the management API (the Unix socket `spindle ps`, `logs`, `restart`, `apps`
    /// and the other operator commands use) is served.
    #[serde(default = "default_management_api")]
    pub management_api: bool,
    /// Milliseconds a worker has, from the start of its thread, to listen (or to export a
    /// server, a handler or `create()`) before it counts as a failed start.
    #[serde(default = "default_start_timeout")]
    #[schemars(range(min = 1))]
    pub start_timeout: Integer,
    /// Modules every worker imports before its application (as `node --import`); paths are
    /// relative to this file, or package names. An application's own `preload` comes after.
    #[serde(default)]
    pub preload: Vec<String>,
    /// Whether stack traces in every worker are mapped through source maps
    /// (`--enable-source-maps`). An application's own value overrides this one.
    #[serde(default)]
    pub source_maps: bool,
}

/// Shutdown deadlines, in milliseconds.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "GracefulShutdown")]
pub(crate) struct RawGracefulShutdown {
    /// Milliseconds in-flight requests get to finish when the server stops (`SIGTERM`,
    /// `SIGINT`, `spindle stop`).
    #[serde(default = "default_runtime_shutdown")]
    #[schemars(range(min = 0))]
    pub runtime: Integer,
    /// Milliseconds one application's workers may take to close their servers before they are
    /// terminated.
    #[serde(default = "default_application_shutdown")]
    #[schemars(range(min = 0))]
    pub application: Integer,
    /// Whether clients are told to close their connections (`Connection: close`) once the
    /// server is stopping. Spindle always does: its ingress owns the client connections.
    #[serde(default = "default_close_connections")]
    pub close_connections: bool,
}

impl Default for RawGracefulShutdown {
    fn default() -> Self {
        Self {
            runtime: default_runtime_shutdown(),
            application: default_application_shutdown(),
            close_connections: default_close_connections(),
        }
    }
}

/// The coordinator's log lines: one pino-compatible JSON object per line on stdout, or
/// coloured text on a terminal (or with `spindle start --pretty`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Logger")]
pub(crate) struct RawLogger {
    /// Least severe level of the coordinator's events that is logged.
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

/// Which applications may not call each other over the mesh.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Policies")]
pub(crate) struct RawPolicies {
    /// Applications that may not call each other, in either direction: `{"web": ["admin"]}`
    /// forbids web → admin and admin → web. Every id is one of the applications (configured
    /// or autoloaded), and none lists itself.
    /// A single id may be written as a string.
    #[serde(default)]
    pub deny: BTreeMap<String, Vec<String>>,
}

// serde's `default = "..."` wants functions; each one only restates a `DEFAULT_*` constant.

fn default_management_api() -> bool {
    DEFAULT_MANAGEMENT_API
}

fn default_start_timeout() -> Integer {
    Integer::millis(DEFAULT_START_TIMEOUT)
}

fn default_runtime_shutdown() -> Integer {
    Integer::millis(DEFAULT_RUNTIME_SHUTDOWN)
}

fn default_application_shutdown() -> Integer {
    Integer::millis(DEFAULT_APPLICATION_SHUTDOWN)
}

fn default_close_connections() -> bool {
    true
}

fn default_log_level() -> LogLevel {
    DEFAULT_LOG_LEVEL
}

/// The schema's default for the top-level `health`: every key with its default. Deserializing
/// uses the empty `RawHealth::default()` instead, so keys not written stay unset and validation
/// knows which values the user gave.
fn default_health() -> Object<RawHealth> {
    Object(RawHealth {
        enabled: Some(DEFAULT_HEALTH_ENABLED),
        sample_interval: Some(Integer::millis(DEFAULT_SAMPLE_INTERVAL)),
        interval: Some(Integer::millis(DEFAULT_HEALTH_INTERVAL)),
        grace_period: Some(Integer::millis(DEFAULT_GRACE_PERIOD)),
        max_unhealthy_checks: Some(DEFAULT_MAX_UNHEALTHY_CHECKS.into()),
        max_elu: Some(DEFAULT_MAX_ELU.into()),
        max_heap_used: Some(DEFAULT_MAX_HEAP_USED.into()),
        max_heap_total: Some(DEFAULT_MAX_HEAP_TOTAL.into()),
        max_young_generation: Some(DEFAULT_MAX_YOUNG_GENERATION.into()),
        max_stall: Some(Integer::millis(DEFAULT_MAX_STALL)),
    })
}

fn default_max_failed_starts() -> Integer {
    DEFAULT_MAX_FAILED_STARTS.into()
}

fn default_max_in_flight_per_worker() -> Integer {
    DEFAULT_MAX_IN_FLIGHT_PER_WORKER.into()
}

fn default_queue_timeout() -> Integer {
    Integer::millis(DEFAULT_QUEUE_TIMEOUT)
}

fn default_exit_on_unhandled_errors() -> bool {
    DEFAULT_EXIT_ON_UNHANDLED_ERRORS
}

fn default_response_timeout() -> Integer {
    Integer::millis(DEFAULT_RESPONSE_TIMEOUT)
}

fn default_application_timeout() -> Integer {
    Integer::millis(DEFAULT_APPLICATION_TIMEOUT)
}

/// The schema's default for the top-level `workers`: every key with a fixed default (`total`
/// and `maximum` depend on the machine). As for `health`, deserializing starts empty.
fn default_scaling() -> Object<RawWorkers> {
    Object(RawWorkers {
        fixed: None,
        dynamic: Some(DEFAULT_DYNAMIC_WORKERS),
        total: None,
        scale_up_elu: Some(DEFAULT_SCALE_UP_ELU.into()),
        scale_down_elu: Some(DEFAULT_SCALE_DOWN_ELU.into()),
        cooldown: Some(Integer::millis(DEFAULT_SCALING_COOLDOWN)),
        grace_period: Some(Integer::millis(DEFAULT_SCALING_GRACE_PERIOD)),
        minimum: Some(DEFAULT_MINIMUM_WORKERS.get().into()),
        maximum: None,
    })
}
