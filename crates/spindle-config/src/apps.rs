//! Applications: from raw entries (and autoloaded directories) to [`AppConfig`].
//!
//! Done in two steps so that everything cheap and purely about the config (ids, duplicates,
//! workers, paths) is reported before the entrypoint is chosen, and the file-system-heavy part
//! (entry files, env files) only runs on a config that is otherwise sound.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::autoload;
use crate::capability::{self, Capability, OwnConfig};
use crate::config::{AppConfig, AppKind};
use crate::context::Context;
use crate::declared::{Declared, Origin};
use crate::entry::{self, EntryError, ENTRY_NAMES};
use crate::envfile::{self, ReadError};
use crate::error::{io_message, ConfigError, ErrorKind, Reporter};
use crate::execargv;
use crate::id::{is_valid_id, ID_RULE};
use crate::keypath::KeyPath;
use crate::locate::Locator;
use crate::object::Object;
use crate::raw::application::{RawApplication, RawAutoload};
use crate::supervision::{self, Layer, Level, RawFaults};
use crate::workers::Scaling;

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
        if !app.enabled {
            continue;
        }
        let at = list.index(index);
        let declared = declare(app, &at, None, &out, top, scaling, cx)?;
        out.push(declared);
    }
    Ok(out)
}

/// Checks the application written at `at` against the rules and the entries before it.
/// `dir` is the directory of an `autoload.mappings` entry, which has no `path` of its own.
fn declare(
    mut app: RawApplication,
    at: &KeyPath,
    dir: Option<PathBuf>,
    earlier: &[Declared],
    top: &Layer,
    scaling: &Scaling,
    cx: &Context<'_>,
) -> Result<Declared, ConfigError> {
    let at = at.clone();
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
        let message = match &earlier[first].origin {
            Origin::Configured(path) => {
                format!("duplicate id {:?} (already used by {path})", app.id)
            }
            Origin::Autoloaded(_) => format!("duplicate id {:?}", app.id),
        };
        return fail("id", ErrorKind::DuplicateId, message);
    }
    let (workers, scaling) = match app.workers.take() {
        Some(workers) => scaling.application(workers, &at.key("workers"), cx)?,
        None => scaling.plain(scaling.default_workers),
    };
    let faults = RawFaults {
        max_failed_starts: app.max_failed_starts,
        max_in_flight_per_worker: app.max_in_flight_per_worker,
        queue_timeout: app.queue_timeout,
        exit_on_unhandled_errors: app.exit_on_unhandled_errors,
        standby_workers: app.standby_workers,
        response_timeout: app.response_timeout,
    };
    let health = app.health.take().map(|Object(health)| health);
    let own = Layer::read(health, faults, &at, Level::Application, &cx.report)?;
    let (health, faults) = supervision::resolve(top, &own, &cx.report)?;
    let path = match (dir, app.path.as_deref()) {
        (Some(dir), _) => dir,
        (None, None) => return fail("path", ErrorKind::MissingKey, "missing required key".into()),
        (None, Some("")) => {
            return fail(
                "path",
                ErrorKind::InvalidValue,
                "expected a path, got \"\"".into(),
            )
        }
        (None, Some(path)) => entry::clean(&cx.root.join(path)),
    };
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
    let app_dir = if path.is_file() {
        path.parent().unwrap_or(cx.root).to_owned()
    } else {
        path.clone()
    };
    let exec_argv = worker_options(&app, &app_dir, &at, cx);
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
        config_file: app.config,
        arguments: app.arguments,
        exec_argv,
        dependencies: app.dependencies,
    })
}

/// The Node options of an application's workers: the top-level `preload`, then its own
/// (as `--import`), `--enable-source-maps` when `sourceMaps` is on (its own value, else the
/// top-level one), then what `execArgv` and `nodeOptions` give that a worker thread takes;
/// the rest is named in a warning.
fn worker_options(
    app: &RawApplication,
    app_dir: &std::path::Path,
    at: &KeyPath,
    cx: &Context<'_>,
) -> Vec<String> {
    let mut options = cx.defaults.preload.clone();
    options.extend(preload_options(&app.preload, app_dir));
    if app.source_maps.unwrap_or(cx.defaults.source_maps) {
        options.push("--enable-source-maps".to_owned());
    }
    let given = [
        (
            "execArgv",
            app.exec_argv.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        (
            "nodeOptions",
            app.node_options
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect(),
        ),
    ];
    for (key, words) in given {
        let sorted = execargv::sort(words);
        if !sorted.refused.is_empty() {
            let warning = cx
                .report
                .warn(&at.key(key), execargv::refused_message(&sorted.refused));
            cx.warnings.borrow_mut().push(warning);
        }
        for option in sorted.kept {
            if !options.contains(&option) {
                options.push(option);
            }
        }
    }
    options
}

/// `--import` options for `preload` entries, paths relative to `dir` (Watt resolves them
/// as paths, never as package names).
pub(crate) fn preload_options(preload: &[String], dir: &std::path::Path) -> Vec<String> {
    preload
        .iter()
        .map(|module| format!("--import={}", entry::clean(&dir.join(module)).display()))
        .collect()
}

/// The applications found by `autoload`, sorted by id; an id already configured is an error.
/// They take the top-level health and fault values (`top`), having none of their own, and run
/// the default number of workers (scaled when the top-level `workers.dynamic` is true).
pub(crate) fn autoloaded(
    raw: RawAutoload,
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
    let mappings_at = KeyPath::root().key("autoload").key("mappings");
    for name in raw.mappings.keys() {
        if !dir.join(name).is_dir() {
            let message = format!("no directory {name:?} in {}", dir.display());
            return Err(cx
                .report
                .at_key(&mappings_at.key(name), ErrorKind::NotFound, message));
        }
    }
    let RawAutoload {
        exclude,
        mut mappings,
        ..
    } = raw;
    let found = autoload::discover(&dir, &exclude).map_err(|error| {
        let message = format!("cannot list {}: {}", dir.display(), io_message(&error));
        cx.report.at_value(&at, ErrorKind::Io, message)
    })?;
    let (health, faults) = supervision::resolve(top, &Layer::default(), &cx.report)?;
    let (workers, app_scaling) = scaling.plain(scaling.default_workers);
    let mut out: Vec<Declared> = Vec::with_capacity(found.len());
    for autoload::Found { name, path } in found {
        if let Some(Object(mapped)) = mappings.remove(&name) {
            if !mapped.enabled {
                continue;
            }
            let at = mappings_at.key(&name);
            let taken = configured
                .iter()
                .chain(out.iter())
                .any(|d| d.id == mapped.id);
            if taken {
                let message = format!(
                    "duplicate id {:?}: {} is mapped to the id of another application",
                    mapped.id,
                    path.display()
                );
                return Err(cx
                    .report
                    .at_value(&at.key("id"), ErrorKind::DuplicateId, message));
            }
            let declared = declare(mapped, &at, Some(path), &[], top, scaling, cx)?;
            out.push(declared);
            continue;
        }
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
            scaling: app_scaling,
            env: BTreeMap::new(),
            envfile: None,
            entrypoint: false,
            health: health.clone(),
            faults: faults.clone(),
            origin: Origin::Autoloaded(at.clone()),
            config_file: None,
            arguments: Vec::new(),
            exec_argv: cx.defaults.worker_options(),
            dependencies: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Resolves the entry file and builds the full environment.
///
/// Environment precedence, lowest first: root `.env`, the app directory's `.env`, `envfile`,
/// the process environment, the config's `env`; then `PORT` if none of them set it, so apps
/// that read `process.env.PORT` listen where the public server expects.
pub(crate) fn finish(app: Declared, port: u16, cx: &Context<'_>) -> Result<AppConfig, ConfigError> {
    let dir = if app.path.is_file() {
        app.path
            .parent()
            .map_or_else(|| cx.root.to_owned(), ToOwned::to_owned)
    } else {
        app.path.clone()
    };
    let own = if app.path.is_dir() {
        capability::read(&dir, app.config_file.as_deref())?
    } else {
        None
    };
    let (kind, entry) = match own {
        Some(own) => match &own.capability {
            Capability::Node => {
                let field = format!("node.main of {}", own.file.display());
                let main = own.main.as_deref().map(|main| (main, field));
                let entry = entry::resolve(&app.path, main)
                    .map_err(|error| entry_error(&app, error, cx))?;
                (AppKind::Node, entry)
            }
            Capability::Next => next_app(&own, &dir, cx),
            Capability::Other(module) => {
                let message = format!(
                    "application {:?} is a {module} app ({}), which Spindle does not run: {}",
                    app.id,
                    own.file.display(),
                    capability::advice(module)
                );
                let at = app.origin.key("path");
                return Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message));
            }
        },
        None => {
            let entry =
                entry::resolve(&app.path, None).map_err(|error| entry_error(&app, error, cx))?;
            (AppKind::Node, entry)
        }
    };

    let mut env = cx.root_dotenv.clone();
    env.extend(cx.defaults.envfile.clone());
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
    env.extend(cx.defaults.env.clone());
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
        kind,
        exec_argv: app.exec_argv,
        arguments: app.arguments,
        start_timeout: cx.defaults.start_timeout,
        dependencies: app.dependencies,
    })
}

/// A `@platformatic/next` application: what its own config says, with a warning per key
/// without effect. There is no entry file; the directory stands in for one.
fn next_app(own: &OwnConfig, dir: &std::path::Path, cx: &Context<'_>) -> (AppKind, PathBuf) {
    let locator = Locator::new(&own.text).ok();
    let report = Reporter::new(&own.file, locator.as_ref());
    let (kind, warnings) = crate::next::read_own(&own.file, &own.document, &report);
    cx.warnings.borrow_mut().extend(warnings);
    (kind, dir.to_owned())
}

fn entry_error(app: &Declared, error: EntryError, cx: &Context<'_>) -> ConfigError {
    let at = app.origin.key("path");
    let message = match error {
        EntryError::PackageJson(error) => return error,
        EntryError::NotFound => format!(
            "no entry file for {:?} in {} (looked for node.main in its watt.json, \
             package.json \"main\" and \"exports\", then {ENTRY_NAMES} as .js, .mjs or .cjs)",
            app.id,
            app.path.display(),
        ),
        EntryError::BadMain {
            field,
            main,
            resolved,
        } => format!(
            "no entry file for {:?}: {field} is {main:?} and {} does not exist",
            app.id,
            resolved.display()
        ),
    };
    cx.report.at_value(&at, ErrorKind::NotFound, message)
}
