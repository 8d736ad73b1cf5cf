//! Which file a worker imports for an application.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{io_message, ConfigError, ErrorKind, Reporter};
use crate::json;
use crate::keypath::KeyPath;
use crate::locate::Locator;

/// Files tried, in order, in a directory whose `package.json` has no `main`.
pub const ENTRY_CANDIDATES: [&str; 8] = [
    "index.js",
    "index.mjs",
    "index.cjs",
    "server.js",
    "server.mjs",
    "app.js",
    "app.mjs",
    "main.js",
];

/// Extensions Node tries after a `main` without one.
const MAIN_EXTENSIONS: [&str; 3] = ["js", "mjs", "cjs"];

/// Why no entry file was found in a directory.
#[derive(Debug)]
pub(crate) enum EntryError {
    /// Neither `package.json` `main` nor any of [`ENTRY_CANDIDATES`].
    NotFound,
    /// `package.json` names a `main` that does not exist.
    BadMain { main: String, resolved: PathBuf },
    /// `package.json` itself is broken; the error names it.
    PackageJson(ConfigError),
}

/// The entry of an application at `path`: the path itself if it is a file, else what its
/// directory's `package.json` `main` names, else the first of [`ENTRY_CANDIDATES`] present.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf, EntryError> {
    if path.is_file() {
        return Ok(path.to_owned());
    }
    if let Some(main) = package_main(path).map_err(EntryError::PackageJson)? {
        let resolved = clean(&path.join(&main));
        return main_file(&resolved).ok_or(EntryError::BadMain { main, resolved });
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

/// The `main` field of `dir/package.json`, if the file exists and has one.
fn package_main(dir: &Path) -> Result<Option<String>, ConfigError> {
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
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(main)) if !main.is_empty() => Ok(Some(main.clone())),
        Some(other) => {
            let locator = Locator::new(text).ok();
            let report = Reporter::new(&file, locator.as_ref());
            let found = crate::deserialize::describe(Some(other));
            Err(report.at_value(
                &KeyPath::root().key("main"),
                ErrorKind::InvalidType,
                format!("expected a file path, got {found}"),
            ))
        }
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
        dir.write("app.js", "");
        dir.write("server.mjs", "");
        assert_eq!(resolve(dir.path()).unwrap(), dir.path().join("server.mjs"));
        dir.write("package.json", r#"{"main": "./lib/start"}"#);
        dir.write("lib/start.cjs", "");
        assert_eq!(
            resolve(dir.path()).unwrap(),
            dir.path().join("lib/start.cjs")
        );
    }

    #[test]
    fn main_may_name_a_directory() {
        let dir = TestDir::new("entry-main-dir");
        dir.write("package.json", r#"{"main": "dist"}"#);
        dir.write("dist/index.mjs", "");
        assert_eq!(
            resolve(dir.path()).unwrap(),
            dir.path().join("dist/index.mjs")
        );
    }

    #[test]
    fn a_file_path_is_its_own_entry() {
        let dir = TestDir::new("entry-file");
        dir.write("run.js", "");
        let file = dir.path().join("run.js");
        assert_eq!(resolve(&file).unwrap(), file);
    }

    #[test]
    fn reports_missing_entries() {
        let dir = TestDir::new("entry-missing");
        assert!(matches!(resolve(dir.path()), Err(EntryError::NotFound)));
        dir.write("package.json", r#"{"main": "gone.js"}"#);
        match resolve(dir.path()) {
            Err(EntryError::BadMain { main, resolved }) => {
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
        let Err(EntryError::PackageJson(error)) = resolve(dir.path()) else {
            panic!("expected a package.json error");
        };
        let file = dir.path().join("package.json");
        assert_eq!(
            error.to_string(),
            format!("{}:2:11: main: expected a file path, got 5", file.display())
        );
    }
}
