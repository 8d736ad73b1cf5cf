//! Which file a worker imports for an application.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{io_message, ConfigError, ErrorKind, Reporter};
use crate::json;
use crate::keypath::KeyPath;
use crate::locate::Locator;

/// Files tried, in order, in a directory whose configs name no entry: Watt's names, each
/// with Watt's extensions.
pub const ENTRY_CANDIDATES: [&str; 27] = [
    "index.js",
    "index.mjs",
    "index.cjs",
    "main.js",
    "main.mjs",
    "main.cjs",
    "app.js",
    "app.mjs",
    "app.cjs",
    "application.js",
    "application.mjs",
    "application.cjs",
    "server.js",
    "server.mjs",
    "server.cjs",
    "start.js",
    "start.mjs",
    "start.cjs",
    "bundle.js",
    "bundle.mjs",
    "bundle.cjs",
    "run.js",
    "run.mjs",
    "run.cjs",
    "entrypoint.js",
    "entrypoint.mjs",
    "entrypoint.cjs",
];

/// [`ENTRY_CANDIDATES`]' names without extensions, as said in messages.
pub(crate) const ENTRY_NAMES: &str =
    "index, main, app, application, server, start, bundle, run, entrypoint";

/// Extensions Node tries after a `main` without one.
const MAIN_EXTENSIONS: [&str; 3] = ["js", "mjs", "cjs"];

/// Why no entry file was found in a directory.
#[derive(Debug)]
pub(crate) enum EntryError {
    /// Neither `package.json` `main` nor any of [`ENTRY_CANDIDATES`].
    NotFound,
    /// A config names an entry (`main`, `exports`, `node.main`) that does not exist; `field`
    /// says which, as in messages (`package.json "main"`).
    BadMain {
        field: String,
        main: String,
        resolved: PathBuf,
    },
    /// `package.json` itself is broken; the error names it.
    PackageJson(ConfigError),
}

/// The entry of an application at `path`, as Watt finds it: the path itself if it is a file,
/// else `node_main` (`node.main` of the application's own config, described by `node_field`),
/// else its `package.json`'s `main`, else its `exports`, else the first of
/// [`ENTRY_CANDIDATES`] present.
pub(crate) fn resolve(
    path: &Path,
    node_main: Option<(&str, String)>,
) -> Result<PathBuf, EntryError> {
    if path.is_file() {
        return Ok(path.to_owned());
    }
    let named = match node_main {
        Some((main, field)) => Some((main.to_owned(), field)),
        None => package_entry(path).map_err(EntryError::PackageJson)?,
    };
    if let Some((main, field)) = named {
        let resolved = clean(&path.join(&main));
        return main_file(&resolved).ok_or(EntryError::BadMain {
            field,
            main,
            resolved,
        });
    }
    ENTRY_CANDIDATES
        .iter()
        .map(|name| path.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or(EntryError::NotFound)
}

/// `main` as Node resolves it: the file, the file with an extension, or a directory's index.
fn main_file(resolved: &Path) -> Option<PathBuf> {
    if resolved.is_file() {
        return Some(resolved.to_owned());
    }
    let with_extension = MAIN_EXTENSIONS.iter().map(|ext| {
        let mut name = resolved.as_os_str().to_owned();
        name.push(".");
        name.push(ext);
        PathBuf::from(name)
    });
    let index = MAIN_EXTENSIONS
        .iter()
        .map(|ext| resolved.join(format!("index.{ext}")));
    with_extension.chain(index).find(|p| p.is_file())
}

/// What `dir/package.json` names as the entry, and where: its `main`, else its `exports`
/// (a path, or the `.` entry's `import`, `require`, `node` or `default` path).
fn package_entry(dir: &Path) -> Result<Option<(String, String)>, ConfigError> {
    let file = dir.join("package.json");
    let text = match fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            let message = format!("cannot read: {}", io_message(&error));
            return Err(ConfigError::file(&file, ErrorKind::Io, message));
        }
    };
    let text = json::strip_bom(&text);
    let document = json::parse(&file, text)?;
    match document.get("main") {
        None | Some(Value::Null) => {}
        Some(Value::String(main)) if !main.is_empty() => {
            return Ok(Some((main.clone(), "package.json \"main\"".to_owned())))
        }
        Some(other) => {
            let locator = Locator::new(text).ok();
            let report = Reporter::new(&file, locator.as_ref());
            let found = crate::json::describe(Some(other));
            return Err(report.at_value(
                &KeyPath::root().key("main"),
                ErrorKind::InvalidType,
                format!("expected a file path, got {found}"),
            ));
        }
    }
    Ok(document
        .get("exports")
        .and_then(export_path)
        .map(|path| (path, "package.json \"exports\"".to_owned())))
}

/// The path an `exports` value gives for the package itself.
fn export_path(exports: &Value) -> Option<String> {
    match exports {
        Value::String(path) if !path.is_empty() => Some(path.clone()),
        Value::Object(map) => {
            if let Some(dot) = map.get(".") {
                return export_path(dot);
            }
            ["import", "require", "node", "default"]
                .iter()
                .find_map(|condition| map.get(*condition).and_then(export_path))
        }
        _ => None,
    }
}

/// `path` without `.` components, for readable messages and stable output.
pub(crate) fn clean(path: &Path) -> PathBuf {
    path.components().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdir::TestDir;

    #[test]
    fn prefers_package_main_then_candidates_in_order() {
        let dir = TestDir::new("entry-order");
        dir.write("server.js", "");
        dir.write("app.mjs", "");
        assert_eq!(
            resolve(dir.path(), None).unwrap(),
            dir.path().join("app.mjs")
        );
        dir.write("main.js", "");
        assert_eq!(
            resolve(dir.path(), None).unwrap(),
            dir.path().join("main.js")
        );
        dir.write("package.json", r#"{"main": "./lib/start"}"#);
        dir.write("lib/start.cjs", "");
        assert_eq!(
            resolve(dir.path(), None).unwrap(),
            dir.path().join("lib/start.cjs")
        );
    }

    #[test]
    fn node_main_then_main_then_exports() {
        let dir = TestDir::new("entry-watt-order");
        dir.write("index.js", "");
        dir.write(
            "package.json",
            r#"{"exports": {".": {"import": "./lib/esm.mjs"}}}"#,
        );
        dir.write("lib/esm.mjs", "");
        assert_eq!(
            resolve(dir.path(), None).unwrap(),
            dir.path().join("lib/esm.mjs")
        );
        dir.write(
            "package.json",
            r#"{"main": "m.js", "exports": "./lib/esm.mjs"}"#,
        );
        dir.write("m.js", "");
        assert_eq!(resolve(dir.path(), None).unwrap(), dir.path().join("m.js"));
        dir.write("own.cjs", "");
        let field = "node.main of watt.json".to_owned();
        assert_eq!(
            resolve(dir.path(), Some(("own.cjs", field))).unwrap(),
            dir.path().join("own.cjs")
        );
    }

    #[test]
    fn main_may_name_a_directory() {
        let dir = TestDir::new("entry-main-dir");
        dir.write("package.json", r#"{"main": "dist"}"#);
        dir.write("dist/index.mjs", "");
        assert_eq!(
            resolve(dir.path(), None).unwrap(),
            dir.path().join("dist/index.mjs")
        );
    }

    #[test]
    fn a_file_path_is_its_own_entry() {
        let dir = TestDir::new("entry-file");
        dir.write("run.js", "");
        let file = dir.path().join("run.js");
        assert_eq!(resolve(&file, None).unwrap(), file);
    }

    #[test]
    fn reports_missing_entries() {
        let dir = TestDir::new("entry-missing");
        assert!(matches!(
            resolve(dir.path(), None),
            Err(EntryError::NotFound)
        ));
        dir.write("package.json", r#"{"main": "gone.js"}"#);
        match resolve(dir.path(), None) {
            Err(EntryError::BadMain { main, resolved, .. }) => {
                assert_eq!(main, "gone.js");
                assert_eq!(resolved, dir.path().join("gone.js"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn reports_broken_package_json() {
        let dir = TestDir::new("entry-bad-package");
        dir.write("package.json", "{\n  \"main\": 5\n}");
        let Err(EntryError::PackageJson(error)) = resolve(dir.path(), None) else {
            panic!("expected a package.json error");
        };
        let file = dir.path().join("package.json");
        assert_eq!(
            error.to_string(),
            format!("{}:2:11: main: expected a file path, got 5", file.display())
        );
    }
}
