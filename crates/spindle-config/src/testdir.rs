//! Temporary directories for unit tests, without a crate for it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TestDir(PathBuf);

impl TestDir {
    pub(crate) fn new(name: &str) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "spindle-config-unit-{name}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create test dir");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `relative`, creating parent directories.
    pub(crate) fn write(&self, relative: &str, contents: &str) {
        let file = self.0.join(relative);
        fs::create_dir_all(file.parent().expect("file has a parent")).expect("create dirs");
        fs::write(file, contents).expect("write test file");
    }

    pub(crate) fn mkdir(&self, relative: &str) {
        fs::create_dir_all(self.0.join(relative)).expect("create dir");
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
