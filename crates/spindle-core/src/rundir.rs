//! The per-process directory that holds the workers' private sockets.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Creates `<tmp>/spindle-<pid>` with mode 0700: only this user can reach the workers'
/// sockets, which carry requests that already passed the ingress.
pub fn create(base: &Path) -> io::Result<PathBuf> {
    let dir = base.join(format!("spindle-{}", std::process::id()));
    // A leftover from a dead process with a recycled pid holds only stale sockets.
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

pub fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn is_private_to_the_user() {
        let base = std::env::temp_dir().join(format!("spindle-rundir-test-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let dir = super::create(&base).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        super::remove(&dir);
        assert!(!dir.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
