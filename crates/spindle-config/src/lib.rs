//! Spindle's configuration: `spindle.json` (or Watt's `watt.json`) to a validated [`Config`].
//!
//! [`load`] runs a pipeline whose every error is one line naming the file, line, column and
//! key ([`ConfigError`]). The parts, in pipeline order:
//!
//! - `load` — finds the config file (or serves a directory without one) and runs the steps.
//! - `json` — parses the text; syntax errors in the crate's words.
//! - `locate` — maps each key path to its line and column in the original text.
//! - `keypath` — key paths such as `applications[0].workers`.
//! - `envfile` — reads `.env` files into maps.
//! - `placeholders` — expands `{VAR}` / `{{VAR}}` in every string.
//! - `watt` — Watt's keys: those without effect taken out with a [`Warning`], shorthand
//!   forms rewritten, before deserializing.
//! - `raw` — the first layer: serde types mirroring the JSON, with defaults, a file per
//!   section; `integer`, `number`, `bytesize` (sharing `scalar`) and `object` are the values
//!   they are made of.
//! - `deserialize` — from JSON value to raw types, rewording serde's errors.
//! - `validate` — the second layer: runs the steps below and builds the typed [`Config`].
//!   `context` is what every step gets; `check` the checks they share (ports, durations,
//!   counts, shares).
//! - The steps: `apps` (with `autoload`, `entry`, `capability`, `execargv`, and `id` for
//!   application ids), `supervision` (health and fault keys), `workers` (counts and the
//!   scaler), `metrics`, `telemetry`, `edge` and `trust_proxy` (the public port's timeouts,
//!   limits and trusted proxies), `https`, `prefixes` (`server.routes`), `policies`,
//!   `dependencies`, `entrypoint`. Those that relate applications read `declared`, the
//!   applications checked but not resolved yet.
//! - [`next`] — Next.js apps: their own config, whether their build serves as configured,
//!   and what `spindle build` runs.
//! - `config`, `health`, `scaling` — the validated types and their `DEFAULT_*` values
//!   (`millis` serializes their durations).
//! - `added` — [`resolve_app`]: an application added while the server runs.
//! - `error` — [`ConfigError`]; `warning` — [`Warning`]; `place` — how both name where they
//!   are.
//! - `places` — where a running server keeps its sockets ([`run_base_dir`]).
//! - `schema` — [`json_schema`], generated from the raw types.
//! - `reference` — [`configuration_reference`]: `docs/configuration.md`, rendered from the
//!   schema.
//!
//! The modules form layers, each importing only those below it: the leaves (`keypath`,
//! `scalar` and the values, `id`, `warning`), then `locate`, `error` and `check`; the section
//! types with their readers (`health`, `scaling`, `edge`, `https`, `telemetry`) and the raw
//! sections; `config`, `declared`, `context` and `raw`; the steps; `validate`; and on top
//! `load`, `added` and `reference`. A step never imports the pipeline, so adding one touches
//! `validate` and nothing else.

#![forbid(unsafe_code)]

mod added;
mod apps;
mod autoload;
mod bytesize;
mod capability;
mod check;
mod config;
mod context;
mod declared;
mod dependencies;
mod deserialize;
mod edge;
mod entry;
mod entrypoint;
mod envfile;
mod error;
mod execargv;
mod health;
mod https;
mod id;
mod integer;
mod json;
mod keypath;
mod load;
mod locate;
mod metrics;
mod millis;
pub mod next;
mod number;
mod object;
mod place;
mod placeholders;
mod places;
mod policies;
mod prefixes;
mod raw;
mod reference;
mod scalar;
mod scaling;
mod schema;
mod supervision;
mod telemetry;
#[cfg(test)]
mod testdir;
mod trust_proxy;
mod validate;
mod warning;
mod watt;
mod workers;

pub use added::{resolve_app, MAX_ADDED_WORKERS};
pub use config::{
    AppConfig, AppDefaults, AppKind, Config, GracefulShutdown, LogLevel, LoggerConfig, MetricsAuth,
    MetricsConfig, Policies, Route, ServerConfig, DEFAULT_APPLICATION_LABEL,
    DEFAULT_APPLICATION_SHUTDOWN, DEFAULT_APPLICATION_TIMEOUT, DEFAULT_HOSTNAME, DEFAULT_LOG_LEVEL,
    DEFAULT_MANAGEMENT_API, DEFAULT_METRICS_ENABLED, DEFAULT_METRICS_ENDPOINT,
    DEFAULT_METRICS_HOSTNAME, DEFAULT_METRICS_PORT, DEFAULT_PORT, DEFAULT_RUNTIME_SHUTDOWN,
    DEFAULT_START_TIMEOUT, DEFAULT_WORKERS, DEFAULT_WORKER_LABEL,
};
pub use edge::{
    EdgeConfig, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADERS_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_RESPONSE_TIMEOUT,
};
pub use entry::ENTRY_CANDIDATES;
pub use error::{ConfigError, ErrorKind};
pub use health::{
    FaultConfig, HealthConfig, DEFAULT_EXIT_ON_UNHANDLED_ERRORS, DEFAULT_GRACE_PERIOD,
    DEFAULT_HEALTH_ENABLED, DEFAULT_HEALTH_INTERVAL, DEFAULT_MAX_ELU, DEFAULT_MAX_FAILED_STARTS,
    DEFAULT_MAX_HEAP_TOTAL, DEFAULT_MAX_HEAP_USED, DEFAULT_MAX_IN_FLIGHT_PER_WORKER,
    DEFAULT_MAX_STALL, DEFAULT_MAX_UNHEALTHY_CHECKS, DEFAULT_MAX_YOUNG_GENERATION,
    DEFAULT_QUEUE_TIMEOUT, DEFAULT_SAMPLE_INTERVAL, DEFAULT_STANDBY_WORKERS, MAX_STANDBY_WORKERS,
};
pub use https::{
    crypto_provider, load as load_certified_keys, HttpsConfig, KeyPair, Pem, TlsError,
};
pub use load::{load, LoadOptions, CONFIG_FILE_NAMES};
pub use places::{run_base_dir, run_base_dirs};
pub use reference::{
    configuration_reference, markdown_reference, REFERENCE_PATH, REGENERATE_COMMAND,
};
pub use scaling::{
    default_total_workers, AppScaling, ScalingConfig, DEFAULT_DYNAMIC_WORKERS,
    DEFAULT_MINIMUM_WORKERS, DEFAULT_SCALE_DOWN_ELU, DEFAULT_SCALE_UP_ELU,
    DEFAULT_SCALING_COOLDOWN, DEFAULT_SCALING_GRACE_PERIOD,
};
pub use schema::json_schema;
pub use telemetry::{TelemetryConfig, TelemetrySkip, DEFAULT_OTLP_URL, DEFAULT_SERVICE_NAME};
pub use trust_proxy::{Network, TrustProxy};
pub use warning::Warning;
