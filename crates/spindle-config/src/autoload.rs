//! Applications discovered as subdirectories (`autoload`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A subdirectory that becomes an application.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The directory's name, which becomes the application id (still to be validated).
    pub(crate) name: String,
    pub(crate) path: PathBuf,
}

/// Immediate subdirectories of `dir`, sorted by name, skipping hidden ones, `node_modules`
/// and those named in `exclude`. Symlinks to directories count as directories.
pub(crate) fn discover(dir: &Path, exclude: &[String]) -> io::Result<Vec<Found>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // A lossy name keeps an undecodable directory visible: the id check then rejects it
        // by name instead of it silently not running.
        let name = entry.file_name().to_string_lossy().into_owned();
        let skipped = name.starts_with('.') || name == "node_modules" || exclude.contains(&name);
        if !skipped && path.is_dir() {
            found.push(Found { name, path });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdir::TestDir;

    #[test]
    fn lists_visible_subdirectories_sorted() {
        let dir = TestDir::new("autoload");
        for name in ["web", "api", ".git", "node_modules", "legacy"] {
            dir.mkdir(name);
        }
        dir.write("README.md", "");
        let names: Vec<String> = discover(dir.path(), &["legacy".to_owned()])
            .unwrap()
            .into_iter()
            .map(|found| found.name)
            .collect();
        assert_eq!(names, ["api", "web"]);
    }
}
