//! Finding the config and running the pipeline: read → parse → locate → expand placeholders →
//! deserialize → validate.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::apps;
use crate::config::{
    AppDefaults, Config, GracefulShutdown, LoggerConfig, MetricsConfig, Policies, ServerConfig,
    DEFAULT_APPLICATION_TIMEOUT, DEFAULT_MANAGEMENT_API, DEFAULT_PORT, DEFAULT_WORKERS,
};
use crate::context::Context;
use crate::declared::{Declared, Origin};
use crate::deserialize::{self, APPLICATION_KEYS};
use crate::envfile;
use crate::error::{io_message, ConfigError, ErrorKind, Reporter};
use crate::health::{FaultConfig, HealthConfig};
use crate::id::app_id_from_dir;
use crate::json;
use crate::keypath::KeyPath;
use crate::locate::Locator;
use crate::placeholders::{self, Variables};
use crate::scaling::{AppScaling, ScalingConfig};
use crate::validate;
use crate::watt;

/// Config file names looked for in the served directory, in order: Spindle's, then Watt's.
pub const CONFIG_FILE_NAMES: [&str; 5] = [
    "spindle.json",
    "watt.json",
    "platformatic.json",
    "watt.runtime.json",
    "platformatic.runtime.json",
];

/// Watt's other config formats. No crate reads them with the positions every error here
/// gives (serde_yaml is unmaintained, and json5's and toml's values forget where they
/// were), so they are named in an error instead of half-read.
const OTHER_FORMATS: [&str; 5] = ["json5", "yaml", "yml", "toml", "tml"];

/// Where and how to load the configuration from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Explicit config file (`-c`); a relative path starts from the current directory. When
    /// `None`: look in `dir` for each of [`CONFIG_FILE_NAMES`]; if none exists, serve `dir`
    /// itself as a single app (id = its sanitized name).
    pub config: Option<PathBuf>,
    /// The directory given to `spindle start [DIR]` (default: the current directory), absolute.
    pub dir: PathBuf,
    /// The process environment, passed in rather than read so that callers (and tests)
    /// control it.
    pub env: BTreeMap<String, String>,
}

/// Loads and validates the configuration described by `opts`.
///
/// Reads only the config file, `.env` files, `package.json` files and directory listings.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    match find_config(opts)? {
        Some(file) => from_file(&file, &opts.env),
        None => from_dir(&opts.dir, &opts.env),
    }
}

fn find_config(opts: &LoadOptions) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(config) = &opts.config {
        let file = std::path::absolute(config).map_err(|error| {
            let message = format!("cannot resolve config path: {}", io_message(&error));
            ConfigError::file(config, ErrorKind::Io, message)
        })?;
        not_json(&file)?;
        return Ok(Some(file));
    }
    if !opts.dir.is_dir() {
        let message = if opts.dir.exists() {
            "not a directory"
        } else {
            "directory not found"
        };
        return Err(ConfigError::file(&opts.dir, ErrorKind::NotFound, message));
    }
    let found = CONFIG_FILE_NAMES
        .iter()
        .map(|name| opts.dir.join(name))
        .find(|file| file.is_file());
    if found.is_none() {
        for stem in [
            "watt",
            "platformatic",
            "watt.runtime",
            "platformatic.runtime",
        ] {
            for ext in OTHER_FORMATS {
                not_json(&opts.dir.join(format!("{stem}.{ext}")))?;
            }
        }
    }
    Ok(found)
}

/// An error for a config file in one of Watt's formats other than JSON.
fn not_json(file: &Path) -> Result<(), ConfigError> {
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !OTHER_FORMATS.contains(&ext) || !file.is_file() {
        return Ok(());
    }
    let format = match ext {
        "json5" => "JSON5",
        "toml" | "tml" => "TOML",
        _ => "YAML",
    };
    let message = format!(
        "{format} config files are not read by Spindle; convert it to JSON (same keys) as {}",
        file.with_extension("json").display()
    );
    Err(ConfigError::file(file, ErrorKind::Syntax, message))
}

fn from_file(file: &Path, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
    let text = fs::read_to_string(file).map_err(|error| {
        let kind = match error.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        let message = format!("cannot read config file: {}", io_message(&error));
        ConfigError::file(file, kind, message)
    })?;
    let text = json::strip_bom(&text);
    let root = file.parent().unwrap_or(Path::new("/"));

    let mut document = json::parse(file, text)?;
    let locator = Locator::new(text).map_err(|duplicate| {
        let message = format!(
            "duplicate key (first given at {}:{})",
            duplicate.first.line, duplicate.first.column
        );
        let report = ConfigError::file(file, ErrorKind::DuplicateKey, message);
        ConfigError {
            path: duplicate.path.to_string(),
            ..report.at(duplicate.at)
        }
    })?;
    let report = Reporter::new(file, Some(&locator));

    let dotenv_path = root.join(".env");
    let root_dotenv = envfile::read_optional(&dotenv_path)?;
    let vars = Variables {
        env,
        dotenv: &root_dotenv,
        dotenv_path: &dotenv_path,
        root,
    };
    placeholders::expand(&mut document, &vars, report)?;
    let wrapped_at = KeyPath::root().key("runtime");
    let (mut document, report) = match watt::unwrap(&document, file, root) {
        Some(runtime) => (runtime, report.within(&wrapped_at)),
        None => (document, report),
    };
    let warnings = watt::adapt(&mut document, report);

    let list = KeyPath::root().key(application_key(&document));
    let raw = deserialize::raw_config(&document, report)?;
    let defaults = AppDefaults::default();
    let found = RefCell::new(Vec::new());
    let cx = Context {
        root,
        env,
        root_dotenv: &root_dotenv,
        report,
        defaults: &defaults,
        warnings: &found,
    };
    let config = validate::validate(raw, &list, &cx)?;
    let mut warnings = warnings;
    warnings.extend(found.into_inner());
    Ok(Config {
        source: Some(file.to_owned()),
        warnings,
        ..config
    })
}

/// Which of `applications` and its aliases the document uses, so errors repeat the user's word.
fn application_key(document: &Value) -> &'static str {
    APPLICATION_KEYS
        .into_iter()
        .find(|key| document.get(key).is_some())
        .unwrap_or(APPLICATION_KEYS[0])
}

/// No config file: `dir` is one application with every default.
fn from_dir(dir: &Path, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
    let root_dotenv = envfile::read_optional(&dir.join(".env"))?;
    let defaults = AppDefaults::default();
    let warnings = RefCell::new(Vec::new());
    let cx = Context {
        root: dir,
        env,
        root_dotenv: &root_dotenv,
        report: Reporter::new(dir, None),
        defaults: &defaults,
        warnings: &warnings,
    };
    let id = app_id_from_dir(dir);
    let app = Declared {
        id: id.clone(),
        path: dir.to_owned(),
        workers: DEFAULT_WORKERS,
        scaling: AppScaling::fixed(DEFAULT_WORKERS),
        env: BTreeMap::new(),
        envfile: None,
        entrypoint: true,
        health: HealthConfig::default(),
        faults: FaultConfig::default(),
        origin: Origin::Configured(KeyPath::root()),
        config_file: None,
        arguments: Vec::new(),
        exec_argv: Vec::new(),
        dependencies: Vec::new(),
    };
    let app = apps::finish(app, DEFAULT_PORT, &cx)?;
    Ok(Config {
        source: None,
        root: dir.to_owned(),
        entrypoint: id,
        applications: vec![app],
        server: ServerConfig::default(),
        graceful_shutdown: GracefulShutdown::default(),
        metrics: MetricsConfig::default(),
        telemetry: None,
        logger: LoggerConfig::default(),
        application_timeout: DEFAULT_APPLICATION_TIMEOUT,
        policies: Policies::default(),
        scaling: ScalingConfig::default(),
        management_api: DEFAULT_MANAGEMENT_API,
        watch: false,
        warnings: warnings.into_inner(),
        app_defaults: AppDefaults::default(),
    })
}
