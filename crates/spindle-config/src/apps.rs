//! Applications: from raw entries (and autoloaded directories) to [`AppConfig`].
//!
//! Done in two steps so that everything cheap and purely about the config (ids, duplicates,
//! workers, paths) is reported before the entrypoint is chosen, and the file-system-heavy part
//! (entry files, env files) only runs on a config that is otherwise sound.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;

use crate::autoload;
use crate::config::{AppConfig, DEFAULT_WORKERS};
use crate::entry::{self, EntryError, ENTRY_CANDIDATES};
use crate::envfile::{self, ReadError};
use crate::error::{io_message, ConfigError, ErrorKind};
use crate::health::{FaultConfig, HealthConfig};
use crate::integer::Integer;
use crate::keypath::KeyPath;
use crate::object::Object;
use crate::raw::{RawApplication, RawAutoload};
use crate::scaling::AppScaling;
use crate::supervision::{self, Layer, Level, RawFaults};
use crate::validate::Context;
use crate::workers::Scaling;

/// The rule for ids, as stated in error messages.
pub(crate) const ID_RULE: &str =
    "expected letters, digits, \"-\" or \"_\", starting with a letter or digit, at most 63 long";

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

/// Whether `id` is a DNS label as Spindle allows them (`_` too, as Watt does).
pub(crate) fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The ids of `apps` in order, as listed in error messages: `api, web`.
pub(crate) fn ids(apps: &[Declared]) -> String {
    apps.iter()
        .map(|app| app.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The configured applications, checked in order; `top` holds the top-level health and fault
/// values their own are merged over, `scaling` the top-level `workers`.
pub(crate) fn declared(
    raw: Vec<Object<RawApplication>>,
    list: &KeyPath,
    top: &Layer,
    scaling: &Scaling,
    cx: &Context<'_>,
) -> Result<Vec<Declared>, ConfigError> {
    let mut out: Vec<Declared> = Vec::with_capacity(raw.len());
    for (index, Object(app)) in raw.into_iter().enumerate() {
        let declared = declare(app, list, index, &out, top, scaling, cx)?;
        out.push(declared);
    }
    Ok(out)
}

/// Checks entry `index` of the list against the rules and the entries before it.
fn declare(
    app: RawApplication,
    list: &KeyPath,
    index: usize,
    earlier: &[Declared],
    top: &Layer,
    scaling: &Scaling,
    cx: &Context<'_>,
) -> Result<Declared, ConfigError> {
    let at = list.index(index);
    let fail = |key: &str, kind: ErrorKind, message: String| {
        Err(cx.report.at_value(&at.key(key), kind, message))
    };
    if !is_valid_id(&app.id) {
        return fail(
            "id",
            ErrorKind::InvalidValue,
            format!("invalid id {:?} ({ID_RULE})", app.id),
        );
    }
    if let Some(first) = earlier.iter().position(|d| d.id == app.id) {
        let message = format!(
            "duplicate id {:?} (already used by {})",
            app.id,
            list.index(first)
        );
        return fail("id", ErrorKind::DuplicateId, message);
    }
    let (workers, scaling) = scaling.application(app.workers, &at.key("workers"), cx)?;
    let faults = RawFaults {
        max_failed_starts: app.max_failed_starts,
        max_in_flight_per_worker: app.max_in_flight_per_worker,
        queue_timeout: app.queue_timeout,
        exit_on_unhandled_errors: app.exit_on_unhandled_errors,
        standby_workers: app.standby_workers,
        response_timeout: app.response_timeout,
    };
    let health = app.health.map(|Object(health)| health);
    let own = Layer::read(health, faults, &at, Level::Application, cx)?;
    let (health, faults) = supervision::resolve(top, &own, cx)?;
    if app.path.is_empty() {
        return fail(
            "path",
            ErrorKind::InvalidValue,
            "expected a path, got \"\"".into(),
        );
    }
    let path = entry::clean(&cx.root.join(&app.path));
    if !path.exists() {
        return fail(
            "path",
            ErrorKind::NotFound,
            format!("{} does not exist", path.display()),
        );
    }
    if app.envfile.as_deref() == Some("") {
        return fail(
            "envfile",
            ErrorKind::InvalidValue,
            "expected a path, got \"\"".into(),
        );
    }
    Ok(Declared {
        id: app.id,
        path,
        workers,
        scaling,
        env: app.env,
        envfile: app.envfile,
        entrypoint: app.entrypoint,
        health,
        faults,
        origin: Origin::Configured(at),
    })
}

/// The applications found by `autoload`, sorted by id; an id already configured is an error.
/// They take the top-level health and fault values (`top`), having none of their own, and run
/// the default number of workers (scaled when the top-level `workers.dynamic` is true).
pub(crate) fn autoloaded(
    raw: &RawAutoload,
    configured: &[Declared],
    top: &Layer,
    scaling: &Scaling,
    cx: &Context<'_>,
) -> Result<Vec<Declared>, ConfigError> {
    let at = KeyPath::root().key("autoload").key("path");
    let dir = entry::clean(&cx.root.join(&raw.path));
    if !dir.is_dir() {
        let (kind, problem) = if dir.exists() {
            (ErrorKind::InvalidValue, "is not a directory")
        } else {
            (ErrorKind::NotFound, "does not exist")
        };
        return Err(cx
            .report
            .at_value(&at, kind, format!("{} {problem}", dir.display())));
    }
    let found = autoload::discover(&dir, &raw.exclude).map_err(|error| {
        let message = format!("cannot list {}: {}", dir.display(), io_message(&error));
        cx.report.at_value(&at, ErrorKind::Io, message)
    })?;
    let (health, faults) = supervision::resolve(top, &Layer::default(), cx)?;
    let (workers, scaling) = scaling.plain(DEFAULT_WORKERS);
    let mut out = Vec::with_capacity(found.len());
    for autoload::Found { name, path } in found {
        if !is_valid_id(&name) {
            let message = format!(
                "directory {name:?} in {} is not a valid application id ({ID_RULE}); \
                 rename it or add it to autoload.exclude",
                dir.display()
            );
            return Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message));
        }
        if let Some(twin) = configured.iter().find(|d| d.id == name) {
            let message = format!(
                "duplicate id {name:?}: {} is autoloaded with the same id \
                 (rename one or add {name:?} to autoload.exclude)",
                path.display()
            );
            return Err(cx.report.at_value(
                &twin.origin.key("id"),
                ErrorKind::DuplicateId,
                message,
            ));
        }
        out.push(Declared {
            id: name,
            path,
            workers,
            scaling,
            env: BTreeMap::new(),
            envfile: None,
            entrypoint: false,
            health: health.clone(),
            faults: faults.clone(),
            origin: Origin::Autoloaded(at.clone()),
        });
    }
    Ok(out)
}

/// Resolves the entry file and builds the full environment.
///
/// Environment precedence, lowest first: root `.env`, the app directory's `.env`, `envfile`,
/// the process environment, the config's `env`; then `PORT` if none of them set it, so apps
/// that read `process.env.PORT` listen where the public server expects.
pub(crate) fn finish(app: Declared, port: u16, cx: &Context<'_>) -> Result<AppConfig, ConfigError> {
    let entry = entry::resolve(&app.path).map_err(|error| entry_error(&app, error, cx))?;
    let dir = if app.path.is_file() {
        app.path
            .parent()
            .map_or_else(|| cx.root.to_owned(), ToOwned::to_owned)
    } else {
        app.path.clone()
    };

    let mut env = cx.root_dotenv.clone();
    if dir != cx.root {
        env.extend(envfile::read_optional(&dir.join(".env"))?);
    }
    if let Some(name) = &app.envfile {
        let file = entry::clean(&dir.join(name));
        let vars = envfile::read_required(&file).map_err(|error| match error {
            ReadError::Parse(error) => error,
            ReadError::Io(error) => {
                let kind = match error.kind() {
                    std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                    _ => ErrorKind::Io,
                };
                let message = format!("cannot read {}: {}", file.display(), io_message(&error));
                cx.report
                    .at_value(&app.origin.key("envfile"), kind, message)
            }
        })?;
        env.extend(vars);
    }
    env.extend(cx.env.clone());
    env.extend(app.env);
    env.entry("PORT".to_owned())
        .or_insert_with(|| port.to_string());

    Ok(AppConfig {
        id: app.id,
        path: dir,
        entry,
        workers: app.workers,
        scaling: app.scaling,
        env,
        health: app.health,
        faults: app.faults,
    })
}

fn entry_error(app: &Declared, error: EntryError, cx: &Context<'_>) -> ConfigError {
    let at = app.origin.key("path");
    let message = match error {
        EntryError::PackageJson(error) => return error,
        EntryError::NotFound => format!(
            "no entry file for {:?} in {} (looked for package.json \"main\", {})",
            app.id,
            app.path.display(),
            ENTRY_CANDIDATES.join(", ")
        ),
        EntryError::BadMain { main, resolved } => format!(
            "no entry file for {:?}: package.json \"main\" is {main:?} and {} does not exist",
            app.id,
            resolved.display()
        ),
    };
    cx.report.at_value(&at, ErrorKind::NotFound, message)
}

/// A count (workers, checks, starts, requests): at least 1, at most what a `u32` holds.
pub(crate) fn positive(
    value: Integer,
    at: &KeyPath,
    cx: &Context<'_>,
) -> Result<NonZeroU32, ConfigError> {
    if value.0 < 1 {
        let message = format!("expected a positive integer, got {value}");
        return Err(cx.report.at_value(at, ErrorKind::InvalidValue, message));
    }
    u32::try_from(value.0)
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or_else(|| {
            let message = format!(
                "expected a positive integer up to {}, got {value}",
                u32::MAX
            );
            cx.report.at_value(at, ErrorKind::InvalidValue, message)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dns_labels() {
        for id in ["api", "a", "web-2", "my_app", "9lives", &"x".repeat(63)] {
            assert!(is_valid_id(id), "{id}");
        }
        for id in ["", "-api", "_api", "my app", "a.b", "é", &"x".repeat(64)] {
            assert!(!is_valid_id(id), "{id}");
        }
    }
}
