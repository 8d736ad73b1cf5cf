//! The per-process directory that holds the workers' private sockets.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Creates `<tmp>/spindle-<pid>` with mode 0700: only this user can reach the workers'
/// sockets, which carry requests that already passed the ingress.
pub fn create(base: &Path) -> io::Result<PathBuf> {
    remove_stale(base);
    let dir = base.join(format!("spindle-{}", std::process::id()));
    // A leftover from a dead process with a recycled pid holds only stale sockets.
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// Removes the directories of Spindle processes that died without cleaning up (SIGKILL,
/// OOM killer): only ours (same owner), only for pids that no longer run and whose
/// control socket does not answer.
fn remove_stale(base: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("spindle-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        let ours = uid.is_some_and(|uid| meta.uid() == uid);
        // A pid namespace of its own (another container sharing /tmp) can make a live
        // server look dead: one that still answers on its control socket is left alone.
        let answers = || {
            std::os::unix::net::UnixStream::connect(entry.path().join(crate::core::CONTROL_SOCKET))
                .is_ok()
        };
        if meta.is_dir() && ours && !Path::new(&format!("/proc/{pid}")).exists() && !answers() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
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

    #[test]
    fn stale_directories_of_dead_processes_are_removed() {
        let base =
            std::env::temp_dir().join(format!("spindle-rundir-stale-{}", std::process::id()));
        // A pid above the kernel's maximum cannot be running.
        let stale = base.join("spindle-4294967295");
        let alive = base.join(format!("spindle-{}", std::process::id()));
        let other = base.join("spindle-notapid");
        for d in [&stale, &other] {
            std::fs::create_dir_all(d).unwrap();
        }
        let dir = super::create(&base).unwrap();
        assert_eq!(dir, alive);
        assert!(!stale.exists(), "dead process's directory removed");
        assert!(other.exists(), "not ours to judge");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
