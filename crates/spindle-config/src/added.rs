//! Applications added to a running server (`spindle apps add`): one [`AppConfig`] built the
//! way a configured application is, for an already-loaded [`Config`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::Path;

use crate::apps;
use crate::config::{AppConfig, Config};
use crate::context::Context;
use crate::declared::{Declared, Origin};
use crate::entry;
use crate::envfile;
use crate::error::{ConfigError, ErrorKind, Reporter};
use crate::id::{app_id_from_dir, is_valid_id, ID_RULE};
use crate::keypath::KeyPath;
use crate::scaling::AppScaling;

/// The most workers an application added at run time may ask for.
pub const MAX_ADDED_WORKERS: u32 = 64;

/// Builds the AppConfig of an app added at run time: `path` (absolute dir or entry file),
/// `id` (default: the directory name, sanitized like no-config mode), `workers` (default 1,
/// static), with the config's top-level health/fault values ([`Config::app_defaults`]) and the
/// same env rules (root .env < app .env < real env < nothing from config; plus `PORT`, the
/// config's `server.port`).
///
/// Errors name `path` as their file, with no line, column or key. A relative `path` starts
/// from the config's root.
pub fn resolve_app(
    config: &Config,
    path: &Path,
    id: Option<&str>,
    workers: Option<u32>,
    env: &BTreeMap<String, String>,
) -> Result<AppConfig, ConfigError> {
    let fail = |kind: ErrorKind, message: String| Err(ConfigError::file(path, kind, message));
    let full = entry::clean(&config.root.join(path));
    let id = match id {
        Some(id) => id.to_owned(),
        None if full.is_file() => app_id_from_dir(full.parent().unwrap_or(&config.root)),
        None => app_id_from_dir(&full),
    };
    if !is_valid_id(&id) {
        return fail(
            ErrorKind::InvalidValue,
            format!("invalid id {id:?} ({ID_RULE})"),
        );
    }
    if config.application(&id).is_some() {
        return fail(
            ErrorKind::DuplicateId,
            format!("app id {id:?} is already in use"),
        );
    }
    let workers = match workers.unwrap_or(1) {
        n @ 1..=MAX_ADDED_WORKERS => NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
        n => {
            return fail(
                ErrorKind::InvalidValue,
                format!("expected workers between 1 and {MAX_ADDED_WORKERS}, got {n}"),
            )
        }
    };
    if !full.exists() {
        return fail(
            ErrorKind::NotFound,
            format!("{} does not exist", full.display()),
        );
    }

    let root_dotenv = envfile::read_optional(&config.root.join(".env"))?;
    let warnings = RefCell::new(Vec::new());
    let cx = Context {
        root: &config.root,
        env,
        root_dotenv: &root_dotenv,
        report: Reporter::new(path, None),
        defaults: &config.app_defaults,
        warnings: &warnings,
    };
    let app = Declared {
        id,
        path: full,
        workers,
        scaling: AppScaling::fixed(workers),
        env: BTreeMap::new(),
        envfile: None,
        entrypoint: false,
        health: config.app_defaults.health.clone(),
        faults: config.app_defaults.faults.clone(),
        origin: Origin::Configured(KeyPath::root()),
        config_file: None,
        arguments: Vec::new(),
        exec_argv: config.app_defaults.worker_options(),
        dependencies: Vec::new(),
    };
    apps::finish(app, config.server.port, &cx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{load, LoadOptions};
    use crate::testdir::TestDir;
    use std::time::Duration;

    /// A config with app `api` and top-level health/fault values, plus an `extra/` dir to add.
    fn setup(name: &str) -> (TestDir, Config) {
        let dir = TestDir::new(name);
        dir.write("api/index.js", "");
        dir.write("extra/server.js", "");
        dir.write(".env", "ROOT=root\nSHARED=root\n");
        dir.write("extra/.env", "SHARED=app\nAPP=app\n");
        dir.write(
            "spindle.json",
            r#"{ "server": { "port": 4000 }, "maxFailedStarts": 9, "standbyWorkers": 2,
                 "health": { "interval": 2000 },
                 "applications": [{ "id": "api", "path": "api", "env": { "X": "1" } }] }"#,
        );
        let config = load(&LoadOptions {
            config: None,
            dir: dir.path().to_owned(),
            env: BTreeMap::new(),
        })
        .expect("config loads");
        (dir, config)
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn failure(
        config: &Config,
        path: &Path,
        id: Option<&str>,
        workers: Option<u32>,
    ) -> ConfigError {
        let error = resolve_app(config, path, id, workers, &BTreeMap::new()).unwrap_err();
        assert_eq!(error.file, path);
        assert_eq!((error.line, error.column), (None, None));
        assert_eq!(error.path, "");
        error
    }

    #[test]
    fn builds_an_app_like_a_configured_one() {
        let (dir, config) = setup("added-ok");
        let path = dir.path().join("extra");
        let app = resolve_app(&config, &path, None, None, &env(&[("APP", "real")])).unwrap();
        assert_eq!(app.id, "extra");
        assert_eq!(app.path, path);
        assert_eq!(app.entry, path.join("server.js"));
        assert_eq!(app.workers.get(), 1);
        assert_eq!(app.scaling, AppScaling::fixed(app.workers));
        assert_eq!(app.health.interval, Duration::from_millis(2000));
        assert_eq!(app.faults.max_failed_starts, 9);
        assert_eq!(app.faults.standby_workers, 2);
        assert_eq!(app.health, config.app_defaults.health);
        assert_eq!(
            app.env,
            env(&[
                ("APP", "real"),
                ("PORT", "4000"),
                ("ROOT", "root"),
                ("SHARED", "app")
            ])
        );
    }

    #[test]
    fn takes_an_entry_file_an_id_and_workers() {
        let (dir, config) = setup("added-file");
        let file = dir.path().join("extra/server.js");
        let app = resolve_app(&config, &file, Some("web"), Some(3), &BTreeMap::new()).unwrap();
        assert_eq!(app.id, "web");
        assert_eq!(app.entry, file);
        assert_eq!(app.path, dir.path().join("extra"));
        assert_eq!(app.workers.get(), 3);
        assert!(!app.scaling.dynamic);
        assert_eq!(app.scaling.max.get(), 3);

        let app = resolve_app(&config, &file, None, Some(64), &BTreeMap::new()).unwrap();
        assert_eq!(app.id, "extra");
    }

    #[test]
    fn default_ids_are_sanitized() {
        let (dir, config) = setup("added-sanitize");
        dir.write("My App/index.js", "");
        let app = resolve_app(
            &config,
            &dir.path().join("My App"),
            None,
            None,
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(app.id, "My-App");
    }

    #[test]
    fn a_missing_path_is_an_error() {
        let (dir, config) = setup("added-missing");
        let path = dir.path().join("nope");
        let error = failure(&config, &path, None, None);
        assert_eq!(error.kind, ErrorKind::NotFound);
        assert_eq!(error.message, format!("{} does not exist", path.display()));
    }

    #[test]
    fn a_dir_without_entry_is_an_error() {
        let (dir, config) = setup("added-noentry");
        dir.mkdir("empty");
        let path = dir.path().join("empty");
        let error = failure(&config, &path, None, None);
        assert_eq!(error.kind, ErrorKind::NotFound);
        assert!(
            error.message.starts_with(&format!(
                "no entry file for \"empty\" in {} (looked for node.main in its watt.json",
                path.display()
            )),
            "{}",
            error.message
        );
    }

    #[test]
    fn an_invalid_id_is_an_error() {
        let (dir, config) = setup("added-badid");
        let error = failure(&config, &dir.path().join("extra"), Some("-x"), None);
        assert_eq!(error.kind, ErrorKind::InvalidValue);
        assert_eq!(error.message, format!("invalid id \"-x\" ({ID_RULE})"));
    }

    #[test]
    fn an_id_in_use_is_an_error() {
        let (dir, config) = setup("added-dup");
        let error = failure(&config, &dir.path().join("extra"), Some("api"), None);
        assert_eq!(error.kind, ErrorKind::DuplicateId);
        assert_eq!(error.message, "app id \"api\" is already in use");
        // The default id too: the directory `api` is already configured.
        let error = failure(&config, &dir.path().join("api"), None, None);
        assert_eq!(error.message, "app id \"api\" is already in use");
    }

    #[test]
    fn workers_must_be_1_to_64() {
        let (dir, config) = setup("added-workers");
        let path = dir.path().join("extra");
        for n in [0, 65] {
            let error = failure(&config, &path, None, Some(n));
            assert_eq!(error.kind, ErrorKind::InvalidValue);
            assert_eq!(
                error.message,
                format!("expected workers between 1 and 64, got {n}")
            );
        }
    }
}
