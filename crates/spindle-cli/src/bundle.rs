//! The addon and the JS shim embedded in the binary by the `bundle` feature, so that a
//! `cargo install`ed spindle needs no files beside it.
//!
//! Node can only load an addon from a file, so the files are unpacked on first use into a
//! per-user cache directory named after their content (`<cache>/spindle/<version>-<hash>/`,
//! laid out like an installed copy: the addon and `js/`). A directory is filled under a
//! temporary name and renamed into place, so a reader never sees half of one and two
//! spindles starting at once both end up using the same complete copy.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Files to unpack, by path relative to the unpacked directory.
pub struct Payload<'a> {
    /// Names the directory: changes whenever a file does.
    pub id: &'a str,
    pub files: &'a [(&'a str, &'a [u8])],
}

#[cfg(feature = "bundle")]
mod embedded {
    // Written by build.rs: `ID`, `FILES`.
    include!(concat!(env!("OUT_DIR"), "/bundle.rs"));
}

/// This binary's embedded files.
#[cfg(feature = "bundle")]
pub const EMBEDDED: Payload<'static> = Payload {
    id: embedded::ID,
    files: embedded::FILES,
};

/// The directories tried in turn: `$XDG_CACHE_HOME/spindle`, `~/.cache/spindle`, then
/// `<tmp>/spindle-cache-<uid>` for accounts without a usable home (not `spindle-<n>`: that
/// is a running server's directory, found by its pid).
pub fn cache_roots(env: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let absolute = |value: Option<String>| value.map(PathBuf::from).filter(|p| p.is_absolute());
    let mut roots = Vec::new();
    if let Some(cache) = absolute(env("XDG_CACHE_HOME")) {
        roots.push(cache.join("spindle"));
    }
    if let Some(home) = absolute(env("HOME")) {
        roots.push(home.join(".cache").join("spindle"));
    }
    let tmp = absolute(env("TMPDIR")).unwrap_or_else(|| PathBuf::from("/tmp"));
    roots.push(tmp.join(format!("spindle-cache-{}", crate::uid::current())));
    roots
}

/// Unpacks `payload` under the first usable root (unless a complete copy is there) and
/// returns its directory. The error names every root tried and why each failed.
pub fn unpack_first(payload: &Payload<'_>, roots: &[PathBuf]) -> Result<PathBuf, String> {
    let mut failures = Vec::new();
    for root in roots {
        match unpack(payload, root) {
            Ok(dir) => return Ok(dir),
            Err(err) => failures.push(format!("{}: {err}", root.display())),
        }
    }
    Err(failures.join("; "))
}

/// Unpacks `payload` into `root/<id>` unless a complete copy is there already.
pub fn unpack(payload: &Payload<'_>, root: &Path) -> io::Result<PathBuf> {
    private_dir(root)?;
    let dir = root.join(payload.id);
    if is_complete(&dir, payload) {
        return Ok(dir);
    }
    let staging = root.join(format!(".{}.{}", payload.id, unique_suffix()));
    let result = fill(&staging, payload).and_then(|()| publish(&staging, root, payload));
    // Whatever happened, the staging copy is no longer needed (rename moved it on success).
    let _ = fs::remove_dir_all(&staging);
    result.map(|()| dir)
}

/// Creates `dir` (and missing parents) readable by this user only, or checks that an
/// existing one is ours and not writable by others: the addon is loaded into the server,
/// so whoever can replace it can run code as this user.
fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = fs::symlink_metadata(dir)?;
    let uid = crate::uid::current();
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(io::Error::other(
            "not a directory owned by this user and closed to others",
        ));
    }
    Ok(())
}

/// A complete copy has every file at its full length. Copies are only ever renamed into
/// place whole, so a short file means damage from outside (a cleaner, a full disk).
fn is_complete(dir: &Path, payload: &Payload<'_>) -> bool {
    let is_dir = fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
    is_dir
        && payload.files.iter().all(|(name, bytes)| {
            fs::symlink_metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        })
}

fn fill(staging: &Path, payload: &Payload<'_>) -> io::Result<()> {
    DirBuilder::new().mode(0o700).create(staging)?;
    for (name, bytes) in payload.files {
        let path = staging.join(name);
        if let Some(parent) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(bytes)?;
        // On disk before the rename makes the copy visible, so a crash cannot leave a
        // complete-looking directory of empty files.
        file.sync_all()?;
    }
    File::open(staging)?.sync_all()
}

/// Renames the staging copy into place. When another spindle got there first its copy is
/// used; a damaged copy is moved aside and replaced.
fn publish(staging: &Path, root: &Path, payload: &Payload<'_>) -> io::Result<()> {
    let dir = &root.join(payload.id);
    for _ in 0..2 {
        match fs::rename(staging, dir) {
            Ok(()) => return Ok(()),
            Err(_) if is_complete(dir, payload) => return Ok(()),
            Err(err) if !dir.exists() => return Err(err),
            Err(_) => {
                let aside = root.join(format!(".{}.damaged.{}", payload.id, unique_suffix()));
                // Another spindle may be moving it at the same moment; either way it is gone.
                let _ = fs::rename(dir, &aside);
                let _ = fs::remove_dir_all(&aside);
            }
        }
    }
    fs::rename(staging, dir).or_else(|err| {
        if is_complete(dir, payload) {
            Ok(())
        } else {
            Err(err)
        }
    })
}

/// Unique among processes (pid), and among threads of one (a counter).
fn unique_suffix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{n}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ADDON: &[u8] = &[0x7f, b'E', b'L', b'F', 1, 2, 3];
    const FILES: &[(&str, &[u8])] = &[
        ("libspindle_node.so", ADDON),
        ("js/main.js", b"'use strict'\n"),
        ("js/worker.js", b"// worker\n"),
    ];
    const PAYLOAD: Payload<'static> = Payload {
        id: "0.1.0-00000000000000ab",
        files: FILES,
    };

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "spindle-bundle-test-{}-{n}-{}",
                std::process::id(),
                unique_suffix()
            ));
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn unpacks_once_into_a_private_directory_named_by_content() {
        let tmp = TempDir::new();
        let root = tmp.0.join("cache/spindle");
        let dir = unpack(&PAYLOAD, &root).unwrap();
        assert_eq!(dir, root.join(PAYLOAD.id));
        assert_eq!(fs::read(dir.join("libspindle_node.so")).unwrap(), ADDON);
        assert_eq!(fs::read(dir.join("js/main.js")).unwrap(), b"'use strict'\n");
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&tmp.0.join("cache")), 0o700, "missing parents too");
        let entries: Vec<_> = fs::read_dir(&root).unwrap().collect();
        assert_eq!(entries.len(), 1, "no staging copy is left behind");

        let inode = fs::metadata(dir.join("js/main.js")).unwrap().ino();
        unpack(&PAYLOAD, &root).unwrap();
        let again = fs::metadata(dir.join("js/main.js")).unwrap().ino();
        assert_eq!(inode, again, "a complete copy is used as it is");
    }

    #[test]
    fn concurrent_unpacks_all_get_the_same_complete_copy() {
        let tmp = TempDir::new();
        let root = tmp.0.join("spindle");
        let dirs: Vec<PathBuf> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| unpack(&PAYLOAD, &root).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(dirs.iter().all(|d| *d == root.join(PAYLOAD.id)), "{dirs:?}");
        assert!(is_complete(&dirs[0], &PAYLOAD));
        let names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [PAYLOAD.id], "staging copies are removed");
    }

    #[test]
    fn a_damaged_copy_is_replaced() {
        let tmp = TempDir::new();
        let root = tmp.0.join("spindle");
        let dir = unpack(&PAYLOAD, &root).unwrap();
        fs::write(dir.join("libspindle_node.so"), b"").unwrap();
        fs::remove_file(dir.join("js/worker.js")).unwrap();
        assert!(!is_complete(&dir, &PAYLOAD));
        let again = unpack(&PAYLOAD, &root).unwrap();
        assert_eq!(again, dir);
        assert_eq!(fs::read(dir.join("libspindle_node.so")).unwrap(), ADDON);
        assert!(dir.join("js/worker.js").is_file());
    }

    #[test]
    fn a_directory_open_to_others_is_refused_and_the_next_root_used() {
        let tmp = TempDir::new();
        let shared = tmp.0.join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        let private = tmp.0.join("private");
        let dir = unpack_first(&PAYLOAD, &[shared.clone(), private.clone()]).unwrap();
        assert_eq!(dir, private.join(PAYLOAD.id));
        assert!(!shared.join(PAYLOAD.id).exists());

        let err = unpack_first(&PAYLOAD, std::slice::from_ref(&shared)).unwrap_err();
        assert!(err.starts_with(&format!("{}: ", shared.display())), "{err}");
        assert!(err.contains("closed to others"), "{err}");
    }

    #[test]
    fn cache_roots_follow_xdg_then_home_then_tmp() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                vars.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            }
        };
        let uid = crate::uid::current();
        let roots = cache_roots(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]));
        assert_eq!(
            roots,
            [
                PathBuf::from("/x/spindle"),
                PathBuf::from("/h/.cache/spindle"),
                PathBuf::from(format!("/tmp/spindle-cache-{uid}")),
            ]
        );
        // The XDG spec ignores relative paths; so does an unset HOME.
        let roots = cache_roots(env(&[("XDG_CACHE_HOME", "rel"), ("TMPDIR", "/t")]));
        assert_eq!(roots, [PathBuf::from(format!("/t/spindle-cache-{uid}"))]);
    }
}
