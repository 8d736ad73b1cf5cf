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
//! - `raw`, `integer`, `object` — the first layer: serde types mirroring the JSON, with
//!   defaults.
//! - `deserialize` — from JSON value to raw types, rewording serde's errors.
//! - `validate`, `apps`, `autoload`, `entry`, `entrypoint` — the second layer: checks and the
//!   typed [`Config`].
//! - `config` — the validated types and their `DEFAULT_*` values.
//! - `error` — [`ConfigError`].
//! - `schema` — [`json_schema`], generated from the raw types.

mod apps;
mod autoload;
mod config;
mod deserialize;
mod entry;
mod entrypoint;
mod envfile;
mod error;
mod integer;
mod json;
mod keypath;
mod load;
mod locate;
mod object;
mod placeholders;
mod raw;
mod schema;
#[cfg(test)]
mod testdir;
mod validate;

pub use config::{
    AppConfig, Config, GracefulShutdown, LogLevel, LoggerConfig, MetricsConfig, ServerConfig,
    DEFAULT_APPLICATION_SHUTDOWN, DEFAULT_HOSTNAME, DEFAULT_LOG_LEVEL, DEFAULT_METRICS_ENABLED,
    DEFAULT_METRICS_HOSTNAME, DEFAULT_METRICS_PORT, DEFAULT_PORT, DEFAULT_RUNTIME_SHUTDOWN,
    DEFAULT_WORKERS,
};
pub use entry::ENTRY_CANDIDATES;
pub use error::{ConfigError, ErrorKind};
pub use load::{load, LoadOptions, CONFIG_FILE_NAMES};
pub use schema::json_schema;
