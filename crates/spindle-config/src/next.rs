//! Next.js applications (`@platformatic/next`): what their own config says, whether their
//! build can be served as configured, and how `spindle build` builds them.
//!
//! A Next.js app is served from its production build (`.next/` in its directory) by Next's
//! own server in each worker. Its `basePath` is compiled into the build (the URLs of its
//! pages and assets carry it), so the path an app is reached under must be the one it was
//! built for: the `server.routes` prefix it is mounted under, or its own
//! `application.basePath`. Spindle does not rewrite `next.config.js` to set it, as Watt's
//! build does; it checks the build before anything starts and says what to change.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{AppConfig, AppKind, Config};
use crate::error::Reporter;
use crate::keypath::KeyPath;
use crate::warning::Warning;

/// Where Next writes its build, relative to the app's directory (Spindle, like Watt, does
/// not follow a `distDir` set in `next.config.js`).
pub const BUILD_DIR: &str = ".next";

/// Keys of a `@platformatic/next` config with no effect in Spindle, and why.
const WITHOUT_EFFECT: &[(&[&str], &str)] = &[
    (
        &["next", "standalone"],
        "the app is served from .next/ with the next package of its own node_modules, not from .next/standalone",
    ),
    (
        &["next", "trailingSlash"],
        "set trailingSlash in next.config.js: the build carries it",
    ),
    (
        &["next", "useExperimentalAdapter"],
        "Watt's Next.js adapter is not loaded",
    ),
    (
        &["next", "https"],
        "it is for next dev, which Spindle does not run; terminate TLS in front of Spindle",
    ),
    (
        &["next", "imageOptimizer"],
        "Next.js optimizes images itself, in the app's workers",
    ),
    (
        &["cache"],
        "Watt's Valkey cache handler is not installed; set cacheHandler in next.config.js to share a cache between workers",
    ),
    (
        &["application", "commands", "development"],
        "spindle dev does not run Next.js's development server",
    ),
    (
        &["application", "commands", "production"],
        "the app is served by Next.js's own server in Spindle's workers",
    ),
];

/// What a `@platformatic/next` config says that Spindle uses: `application.basePath`
/// (cleaned) and `application.commands.build`, plus a warning per key without effect.
pub(crate) fn read_own(
    file: &Path,
    document: &Value,
    report: &Reporter<'_>,
) -> (AppKind, Vec<Warning>) {
    let options = document
        .get("next")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let application = document.get("application");
    let base_path = application
        .and_then(|a| a.get("basePath"))
        .and_then(Value::as_str)
        .and_then(clean_base_path);
    let build_command = application
        .and_then(|a| a.get("commands"))
        .and_then(|c| c.get("build"))
        .and_then(Value::as_str)
        .filter(|c| !c.trim().is_empty())
        .map(ToOwned::to_owned);
    let mut warnings = Vec::new();
    for (path, why) in WITHOUT_EFFECT {
        let mut at = KeyPath::root();
        let mut value = Some(document);
        for key in *path {
            value = value.and_then(|v| v.get(*key));
            at = at.key(key);
        }
        if value.is_some_and(|v| !v.is_null()) {
            warnings.push(report.warn(&at, format!("has no effect in Spindle: {why}")));
        }
    }
    let kind = AppKind::Next {
        config: file.to_owned(),
        options,
        base_path,
        build_command,
    };
    (kind, warnings)
}

/// A base path as Next takes it: a leading slash, no trailing one; `None` for the root
/// (`""`, `"/"`).
pub fn clean_base_path(path: &str) -> Option<String> {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        None
    } else {
        Some(format!("/{trimmed}"))
    }
}

/// The `server.routes` prefixes `app` is mounted under, in the config's order.
fn mounts<'a>(config: &'a Config, app: &str) -> Vec<&'a str> {
    config
        .server
        .routes
        .iter()
        .filter(|route| route.app == app)
        .map(|route| route.prefix.as_str())
        .collect()
}

/// The `basePath` a Next.js app must have been built with: the prefix it is mounted under,
/// else its `application.basePath`, else none (any build serves: it is reached at the
/// paths its own `next.config.js` gives it).
///
/// Requests to a mounted Next.js app reach it with the prefix kept (Watt's
/// `wantsAbsoluteUrls`), so it can be mounted under one prefix only.
pub fn expected_base_path(
    id: &str,
    mounts: &[&str],
    own: Option<&str>,
    config_file: &Path,
) -> Result<Option<String>, String> {
    match (mounts, own) {
        ([], own) => Ok(own.map(ToOwned::to_owned)),
        ([mount], None) => Ok(Some((*mount).to_owned())),
        ([mount], Some(own)) if own == *mount => Ok(Some(own.to_owned())),
        ([mount], Some(own)) => Err(format!(
            "application {id:?} is a Next.js app mounted under {mount:?} (server.routes), but its \
             application.basePath in {} is {own:?}: a Next.js app is built for one base path; \
             make them the same",
            config_file.display()
        )),
        (several, _) => Err(format!(
            "application {id:?} is a Next.js app mounted under {} prefixes ({}) in server.routes: \
             a Next.js app is built for one base path, so mount it under one",
            several.len(),
            several
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// What a production build in an app's directory is, as far as starting it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Build {
    /// `.next/BUILD_ID` is missing: never built, or a development build only.
    Missing,
    /// Built, with this `basePath` (`None` at the root).
    Built { base_path: Option<String> },
    /// Built, but `.next/routes-manifest.json` cannot be read.
    Unreadable(String),
}

/// Reads the build in `dir`.
pub fn read_build(dir: &Path) -> Build {
    let out = dir.join(BUILD_DIR);
    if !out.join("BUILD_ID").is_file() {
        return Build::Missing;
    }
    let manifest = out.join("routes-manifest.json");
    let text = match fs::read_to_string(&manifest) {
        Ok(text) => text,
        Err(err) => return Build::Unreadable(format!("{}: {err}", manifest.display())),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => Build::Built {
            base_path: value
                .get("basePath")
                .and_then(Value::as_str)
                .and_then(clean_base_path),
        },
        Err(err) => Build::Unreadable(format!("{}: {err}", manifest.display())),
    }
}

/// Whether a Next.js app `id` in `dir` can be served as configured, given its build: the
/// message says what to run or change when not.
pub fn check_build(
    id: &str,
    dir: &Path,
    build: &Build,
    expected: Option<&str>,
) -> Result<(), String> {
    let built_with = match build {
        Build::Missing => {
            return Err(format!(
                "application {id:?} is a Next.js app with no production build ({} is missing): \
                 build it with `spindle build` (or `npx next build` in {}), then start again",
                dir.join(BUILD_DIR).join("BUILD_ID").display(),
                dir.display()
            ))
        }
        Build::Unreadable(why) => {
            return Err(format!(
                "application {id:?} is a Next.js app whose build cannot be read ({why}): build \
                 it again with `spindle build`"
            ))
        }
        Build::Built { base_path } => base_path.as_deref(),
    };
    match expected {
        Some(expected) if built_with != Some(expected) => Err(format!(
            "application {id:?} is served under {expected:?}, but its Next.js build has {}: set \
             basePath: {expected:?} in its next.config.js ({}) and build it again \
             (`spindle build`); Spindle, unlike Watt's build, does not set it for you",
            match built_with {
                Some(path) => format!("basePath {path:?}"),
                None => "no basePath".to_owned(),
            },
            dir.display()
        )),
        _ => Ok(()),
    }
}

/// Whether every Next.js app of `config` can be started: built, built for the path it is
/// served under, and not in dev mode (`dev`), where Spindle does not run `next dev`.
pub fn check_startable(config: &Config, dev: bool) -> Result<(), String> {
    for app in &config.applications {
        check_app(app, &mounts(config, &app.id), dev)?;
    }
    Ok(())
}

/// [`check_startable`] for one app mounted under `mounts` (an app added at run time).
pub fn check_app(app: &AppConfig, mounts: &[&str], dev: bool) -> Result<(), String> {
    let AppKind::Next {
        config, base_path, ..
    } = &app.kind
    else {
        return Ok(());
    };
    if dev {
        return Err(format!(
            "application {:?} is a Next.js app ({}), and spindle dev does not run Next.js's \
             development server: develop it with `npx next dev` in {}, or build it \
             (`spindle build`) and serve the build with `spindle start`",
            app.id,
            config.display(),
            app.path.display()
        ));
    }
    let expected = expected_base_path(&app.id, mounts, base_path.as_deref(), config)?;
    check_build(
        &app.id,
        &app.path,
        &read_build(&app.path),
        expected.as_deref(),
    )
}

/// How `spindle build` builds one Next.js app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// The application's id.
    pub app: String,
    /// Where the command runs: the app's directory.
    pub dir: PathBuf,
    pub command: BuildCommand,
    /// Its environment: the app's, as its workers get it.
    pub env: std::collections::BTreeMap<String, String>,
}

/// The command of a [`BuildStep`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildCommand {
    /// `application.commands.build`, run by `sh -c`.
    Shell(String),
    /// `next build` from the app's own `node_modules/.bin`.
    NextBuild(PathBuf),
}

impl std::fmt::Display for BuildCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildCommand::Shell(command) => f.write_str(command),
            BuildCommand::NextBuild(next) => write!(f, "{} build", next.display()),
        }
    }
}

/// What `spindle build` runs for `app`: nothing for an app that is not a Next.js app; an
/// error when it has no build command and Next.js is not installed in its directory.
pub fn build_step(app: &AppConfig) -> Option<Result<BuildStep, String>> {
    let AppKind::Next { build_command, .. } = &app.kind else {
        return None;
    };
    let command = match build_command {
        Some(command) => BuildCommand::Shell(command.clone()),
        None => {
            let next = app.path.join("node_modules/.bin/next");
            if !next.is_file() {
                return Some(Err(format!(
                    "application {:?} is a Next.js app, but {} is missing: install its \
                     dependencies (npm ci in {}) first",
                    app.id,
                    next.display(),
                    app.path.display()
                )));
            }
            BuildCommand::NextBuild(next)
        }
    };
    Some(Ok(BuildStep {
        app: app.id.clone(),
        dir: app.path.clone(),
        command,
        env: app.env.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdir::TestDir;

    const FILE: &str = "/srv/web/watt.json";

    #[test]
    fn base_paths_are_cleaned_as_next_takes_them() {
        assert_eq!(clean_base_path("/shop"), Some("/shop".into()));
        assert_eq!(clean_base_path("shop/"), Some("/shop".into()));
        assert_eq!(clean_base_path("/a/b/"), Some("/a/b".into()));
        assert_eq!(clean_base_path("/"), None);
        assert_eq!(clean_base_path(""), None);
    }

    #[test]
    fn the_expected_base_path_is_the_mount_else_the_apps_own() {
        let file = Path::new(FILE);
        let ok = |mounts: &[&str], own: Option<&str>| {
            expected_base_path("web", mounts, own, file).expect("consistent")
        };
        assert_eq!(ok(&[], None), None);
        assert_eq!(ok(&[], Some("/shop")), Some("/shop".into()));
        assert_eq!(ok(&["/shop"], None), Some("/shop".into()));
        assert_eq!(ok(&["/shop"], Some("/shop")), Some("/shop".into()));

        let differs = expected_base_path("web", &["/store"], Some("/shop"), file).unwrap_err();
        assert_eq!(
            differs,
            "application \"web\" is a Next.js app mounted under \"/store\" (server.routes), but \
             its application.basePath in /srv/web/watt.json is \"/shop\": a Next.js app is built \
             for one base path; make them the same"
        );
        let several = expected_base_path("web", &["/a", "/b"], None, file).unwrap_err();
        assert!(
            several.contains("mounted under 2 prefixes (\"/a\", \"/b\")"),
            "{several}"
        );
    }

    #[test]
    fn a_build_serves_when_it_has_the_expected_base_path() {
        let dir = Path::new("/srv/web");
        let built = |base: Option<&str>| Build::Built {
            base_path: base.map(ToOwned::to_owned),
        };
        assert_eq!(check_build("web", dir, &built(None), None), Ok(()));
        // Not mounted and no basePath of its own: served at whatever paths it was built for.
        assert_eq!(check_build("web", dir, &built(Some("/x")), None), Ok(()));
        assert_eq!(
            check_build("web", dir, &built(Some("/shop")), Some("/shop")),
            Ok(())
        );

        let missing = check_build("web", dir, &Build::Missing, None).unwrap_err();
        assert_eq!(
            missing,
            "application \"web\" is a Next.js app with no production build \
             (/srv/web/.next/BUILD_ID is missing): build it with `spindle build` (or `npx next \
             build` in /srv/web), then start again"
        );
        let unbased = check_build("web", dir, &built(None), Some("/shop")).unwrap_err();
        assert_eq!(
            unbased,
            "application \"web\" is served under \"/shop\", but its Next.js build has no \
             basePath: set basePath: \"/shop\" in its next.config.js (/srv/web) and build it \
             again (`spindle build`); Spindle, unlike Watt's build, does not set it for you"
        );
        let other = check_build("web", dir, &built(Some("/x")), Some("/shop")).unwrap_err();
        assert!(
            other.contains("its Next.js build has basePath \"/x\""),
            "{other}"
        );
        let unreadable = check_build("web", dir, &Build::Unreadable("bad".into()), None);
        assert!(unreadable.unwrap_err().contains("cannot be read (bad)"));
    }

    #[test]
    fn reads_the_build_id_and_the_base_path_of_a_build() {
        let dir = TestDir::new("next-build");
        assert_eq!(read_build(dir.path()), Build::Missing);
        // A manifest alone (next dev writes one) is no production build.
        dir.write(".next/routes-manifest.json", r#"{"basePath":""}"#);
        assert_eq!(read_build(dir.path()), Build::Missing);
        dir.write(".next/BUILD_ID", "abc");
        assert_eq!(read_build(dir.path()), Build::Built { base_path: None });
        dir.write(".next/routes-manifest.json", r#"{"basePath":"/shop"}"#);
        assert_eq!(
            read_build(dir.path()),
            Build::Built {
                base_path: Some("/shop".into())
            }
        );
        dir.write(".next/routes-manifest.json", "{");
        assert!(matches!(read_build(dir.path()), Build::Unreadable(_)));
    }

    /// A project in `dir` whose one app, `web/`, is a `@platformatic/next` app, loaded as
    /// start loads it.
    fn next_app(dir: &TestDir, build_command: Option<&str>) -> AppConfig {
        let commands = build_command
            .map(|c| serde_json::json!({"commands": {"build": c}}))
            .unwrap_or_else(|| serde_json::json!({}));
        let own = serde_json::json!({
            "$schema": "https://schemas.platformatic.dev/@platformatic/next/3.0.0.json",
            "application": commands,
        });
        dir.write("web/watt.json", &own.to_string());
        dir.write(
            "spindle.json",
            r#"{ "applications": [{ "id": "web", "path": "web" }] }"#,
        );
        let config = crate::load(&crate::LoadOptions {
            config: None,
            dir: dir.path().to_owned(),
            env: Default::default(),
        })
        .expect("config loads");
        config.applications.into_iter().next().expect("one app")
    }

    #[test]
    fn build_runs_the_apps_command_else_its_own_next() {
        let dir = TestDir::new("next-step");
        let web = dir.path().join("web");
        let custom = build_step(&next_app(&dir, Some("npm run build")))
            .expect("a next app")
            .expect("a step");
        assert_eq!(custom.command, BuildCommand::Shell("npm run build".into()));
        assert_eq!(custom.dir, web);

        let missing = build_step(&next_app(&dir, None))
            .expect("a next app")
            .unwrap_err();
        assert!(
            missing.contains("node_modules/.bin/next is missing: install its dependencies"),
            "{missing}"
        );

        dir.write("web/node_modules/.bin/next", "#!/usr/bin/env node\n");
        let own = build_step(&next_app(&dir, None))
            .expect("a next app")
            .expect("a step");
        assert_eq!(
            own.command,
            BuildCommand::NextBuild(web.join("node_modules/.bin/next"))
        );

        let mut node = next_app(&dir, None);
        node.kind = AppKind::Node;
        assert_eq!(build_step(&node), None);
    }

    #[test]
    fn dev_mode_refuses_next_apps_and_says_what_to_run() {
        let dir = TestDir::new("next-dev");
        dir.write("web/.next/BUILD_ID", "abc");
        dir.write("web/.next/routes-manifest.json", r#"{"basePath":""}"#);
        let app = next_app(&dir, None);
        assert_eq!(check_app(&app, &[], false), Ok(()));
        let dev = check_app(&app, &[], true).unwrap_err();
        assert!(
            dev.contains("spindle dev does not run Next.js's development server"),
            "{dev}"
        );
        let mounted = check_app(&app, &["/shop"], false).unwrap_err();
        assert!(mounted.contains("has no basePath"), "{mounted}");
    }

    #[test]
    fn keys_without_effect_are_warned_and_the_rest_read() {
        let document = serde_json::json!({
            "application": {"basePath": "/shop/", "commands": {"build": "npm run build", "production": "x"}},
            "next": {"standalone": true, "trailingSlash": false},
            "cache": {"adapter": "valkey", "url": "redis://127.0.0.1"}
        });
        let file = Path::new(FILE);
        let report = Reporter::new(file, None);
        let (kind, warnings) = read_own(file, &document, &report);
        match kind {
            AppKind::Next {
                base_path,
                build_command,
                ..
            } => {
                assert_eq!(base_path.as_deref(), Some("/shop"));
                assert_eq!(build_command.as_deref(), Some("npm run build"));
            }
            other => panic!("expected a next app, got {other:?}"),
        }
        let paths: Vec<&str> = warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "next.standalone",
                "next.trailingSlash",
                "cache",
                "application.commands.production"
            ]
        );
    }
}
