//! Where a running Spindle keeps its per-process directory (control socket, mesh
//! sockets): the server creates it there and the CLI looks for it there.

use std::path::{Path, PathBuf};

/// `$XDG_RUNTIME_DIR` when it names a directory (per-user, mode 0700, cleaned at logout:
/// the place meant for sockets), else the temp dir (`$TMPDIR`, else `/tmp`).
pub fn run_base_dir() -> PathBuf {
    run_base_dir_from(
        std::env::var_os("XDG_RUNTIME_DIR")
            .as_deref()
            .map(Path::new),
    )
}

fn run_base_dir_from(xdg: Option<&Path>) -> PathBuf {
    match xdg {
        Some(dir) if dir.is_absolute() && dir.is_dir() => dir.to_owned(),
        _ => std::env::temp_dir(),
    }
}

/// Every place a running Spindle's directory may be: the run base, and the temp dir
/// (where one started without `$XDG_RUNTIME_DIR` keeps it).
pub fn run_base_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![run_base_dir()];
    let tmp = std::env::temp_dir();
    if !dirs.contains(&tmp) {
        dirs.push(tmp);
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_runtime_dir_is_used_only_when_it_is_a_directory() {
        let tmp = std::env::temp_dir();
        assert_eq!(run_base_dir_from(Some(&tmp)), tmp);
        assert_eq!(run_base_dir_from(None), tmp);
        assert_eq!(run_base_dir_from(Some(Path::new("relative"))), tmp);
        assert_eq!(run_base_dir_from(Some(Path::new("/nonexistent/xdg"))), tmp);
    }
}
