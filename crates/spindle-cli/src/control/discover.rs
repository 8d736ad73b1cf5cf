//! Finding the spindle to talk to. Each running spindle has a private directory
//! `<tmp>/spindle-<pid>/` (mode 0700) holding its control socket; directories of other
//! users, of dead processes, or without a socket are skipped.

use std::ffi::OsStr;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use spindle_api::Status;

use super::client::Endpoint;
use super::error::ControlError;

/// The control socket's name inside a spindle's directory.
pub const SOCKET: &str = "control.sock";

/// How long a candidate may take to say its name when several are running.
const NAME_TIMEOUT: Duration = Duration::from_secs(2);

/// Which spindle the user asked for (`--pid`, `--name`); neither means "the only one".
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub pid: Option<u32>,
    pub name: Option<String>,
}

/// Finds the spindle `wanted` names among those running for this user (under
/// `$XDG_RUNTIME_DIR` or the temp dir).
pub fn find(wanted: &Wanted) -> Result<Endpoint, ControlError> {
    let bases = spindle_config::run_base_dirs();
    let mut found: Vec<Endpoint> = bases
        .iter()
        .flat_map(|base| scan(base, crate::uid::current(), is_alive))
        .collect();
    found.sort_by_key(Endpoint::pid);
    found.dedup_by_key(|e| e.pid());
    let base = &bases[0];
    // A spindle killed outright leaves its directory behind; once its pid is reused the
    // directory looks alive, but nothing listens on its socket. Among several, drop those.
    if wanted.pid.is_none() && found.len() > 1 {
        found.retain(Endpoint::accepts);
    }
    choose(base, found, wanted, name_of)
}

/// Control sockets under `base` owned by `uid` whose process `alive` says is running,
/// ordered by pid.
pub fn scan(base: &Path, uid: u32, alive: impl Fn(u32) -> bool) -> Vec<Endpoint> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut found: Vec<Endpoint> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid = pid_of(&entry.file_name())?;
            let dir = entry.path();
            let socket = dir.join(SOCKET);
            (owned_by(&dir, uid, false) && owned_by(&socket, uid, true) && alive(pid))
                .then(|| Endpoint::new(pid, socket))
        })
        .collect();
    found.sort_by_key(Endpoint::pid);
    found
}

/// The pid in a directory name `spindle-<pid>`; other `spindle-…` names (test dirs,
/// other tools) are not ours.
pub fn pid_of(name: &OsStr) -> Option<u32> {
    let digits = name.to_str()?.strip_prefix("spindle-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|pid| *pid > 0)
}

/// `path` is a directory (or, with `socket`, a Unix socket), not a symlink, owned by `uid`.
fn owned_by(path: &Path, uid: u32, socket: bool) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let kind = meta.file_type();
    let right_kind = if socket {
        kind.is_socket()
    } else {
        kind.is_dir()
    };
    right_kind && meta.uid() == uid
}

/// Picks one endpoint from `found` as `wanted` says; `name_of` asks a candidate its name.
pub fn choose(
    base: &Path,
    found: Vec<Endpoint>,
    wanted: &Wanted,
    name_of: impl Fn(&Endpoint) -> Option<String>,
) -> Result<Endpoint, ControlError> {
    if let Some(pid) = wanted.pid {
        let endpoint =
            found
                .into_iter()
                .find(|e| e.pid() == pid)
                .ok_or_else(|| ControlError::NoSuchPid {
                    pid,
                    socket: base.join(format!("spindle-{pid}")).join(SOCKET),
                })?;
        if let Some(name) = &wanted.name {
            if name_of(&endpoint).as_deref() != Some(name.as_str()) {
                return Err(ControlError::NoSuchName {
                    name: name.clone(),
                    running: listing(std::slice::from_ref(&endpoint), &name_of),
                });
            }
        }
        return Ok(endpoint);
    }
    if found.is_empty() {
        return Err(ControlError::NoneRunning {
            pattern: base.join("spindle-*").join(SOCKET).display().to_string(),
        });
    }
    if let Some(name) = &wanted.name {
        let named: Vec<(Endpoint, Option<String>)> =
            found.iter().map(|e| (e.clone(), name_of(e))).collect();
        let mut matching: Vec<Endpoint> = named
            .iter()
            .filter(|(_, n)| n.as_deref() == Some(name.as_str()))
            .map(|(e, _)| e.clone())
            .collect();
        return match matching.len() {
            1 => Ok(matching.remove(0)),
            0 => Err(ControlError::NoSuchName {
                name: name.clone(),
                running: describe(&named),
            }),
            _ => Err(ControlError::Several {
                running: listing(&matching, &name_of),
            }),
        };
    }
    if found.len() == 1 {
        return Ok(found.into_iter().next().expect("one element"));
    }
    Err(ControlError::Several {
        running: listing(&found, &name_of),
    })
}

/// `pid 123 (demo), pid 456 (api)` for messages.
fn listing(found: &[Endpoint], name_of: &impl Fn(&Endpoint) -> Option<String>) -> String {
    let named: Vec<(Endpoint, Option<String>)> =
        found.iter().map(|e| (e.clone(), name_of(e))).collect();
    describe(&named)
}

fn describe(named: &[(Endpoint, Option<String>)]) -> String {
    named
        .iter()
        .map(|(e, name)| match name {
            Some(name) => format!("pid {} ({name})", e.pid()),
            None => format!("pid {} (not answering)", e.pid()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `name` a spindle reports in its status, if it answers.
fn name_of(endpoint: &Endpoint) -> Option<String> {
    let response = endpoint.get_within("/v1/status", NAME_TIMEOUT).ok()?;
    let status: Status = endpoint.decode(&response).ok()?;
    Some(status.name)
}

fn is_alive(pid: u32) -> bool {
    PathBuf::from("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    /// A scratch directory standing in for the temp dir.
    struct Base(PathBuf);

    impl Base {
        fn new(tag: &str) -> Base {
            let path = std::env::temp_dir()
                .join(format!("spindle-cli-discover-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Base(path)
        }

        /// `spindle-<name>/` with a live socket (the listener must stay alive).
        fn with_socket(&self, dir: &str) -> UnixListener {
            let dir = self.0.join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            UnixListener::bind(dir.join(SOCKET)).unwrap()
        }
    }

    impl Drop for Base {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pids(found: &[Endpoint]) -> Vec<u32> {
        found.iter().map(Endpoint::pid).collect()
    }

    #[test]
    fn reads_pids_from_directory_names() {
        assert_eq!(pid_of(OsStr::new("spindle-123")), Some(123));
        assert_eq!(pid_of(OsStr::new("spindle-")), None);
        assert_eq!(pid_of(OsStr::new("spindle-0")), None);
        assert_eq!(pid_of(OsStr::new("spindle-+5")), None);
        assert_eq!(pid_of(OsStr::new("spindle-e2e-12-0-99")), None);
        assert_eq!(pid_of(OsStr::new("spindle-12-x")), None);
        assert_eq!(pid_of(OsStr::new("other-12")), None);
    }

    #[test]
    fn keeps_live_owned_sockets_and_skips_the_rest() {
        let base = Base::new("scan");
        let uid = crate::uid::current();
        let _a = base.with_socket("spindle-300");
        let _b = base.with_socket("spindle-100");
        let _dead = base.with_socket("spindle-200");
        let _test_dir = base.with_socket("spindle-e2e-1-0-5");
        // A directory without a socket, and one whose "socket" is a plain file.
        std::fs::create_dir_all(base.0.join("spindle-400")).unwrap();
        std::fs::create_dir_all(base.0.join("spindle-500")).unwrap();
        std::fs::write(base.0.join("spindle-500").join(SOCKET), "").unwrap();
        // A symlink to a good directory is not followed.
        std::os::unix::fs::symlink(base.0.join("spindle-100"), base.0.join("spindle-600")).unwrap();

        let found = scan(&base.0, uid, |pid| pid != 200);
        assert_eq!(pids(&found), vec![100, 300]);
        assert_eq!(
            found[0],
            Endpoint::new(100, base.0.join("spindle-100").join(SOCKET))
        );

        // Another user's directories are not ours.
        assert!(scan(&base.0, uid.wrapping_add(1), |_| true).is_empty());
        assert!(scan(&base.0.join("missing"), uid, |_| true).is_empty());
    }

    fn ep(pid: u32) -> Endpoint {
        Endpoint::new(pid, PathBuf::from(format!("/t/spindle-{pid}/{SOCKET}")))
    }

    fn names(e: &Endpoint) -> Option<String> {
        match e.pid() {
            1 => Some("demo".into()),
            2 => Some("api".into()),
            3 => Some("api".into()),
            _ => None,
        }
    }

    fn wanted(pid: Option<u32>, name: Option<&str>) -> Wanted {
        Wanted {
            pid,
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn the_only_one_is_chosen() {
        let base = Path::new("/t");
        let chosen = choose(base, vec![ep(7)], &Wanted::default(), names).unwrap();
        assert_eq!(chosen.pid(), 7);
    }

    #[test]
    fn none_running_says_where_it_looked() {
        let err = choose(Path::new("/t"), vec![], &Wanted::default(), names).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no running spindle found (looked in /t/spindle-*/control.sock)"
        );
        assert_eq!(err.exit_code(), 69);
    }

    #[test]
    fn several_running_are_listed_with_their_names() {
        let err = choose(
            Path::new("/t"),
            vec![ep(1), ep(2), ep(9)],
            &Wanted::default(),
            names,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "several spindles are running: pid 1 (demo), pid 2 (api), pid 9 (not answering); \
             pick one with --pid PID or --name NAME"
        );
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn pid_and_name_pick_one() {
        let base = Path::new("/t");
        let all = || vec![ep(1), ep(2), ep(3)];
        assert_eq!(
            choose(base, all(), &wanted(Some(2), None), names)
                .unwrap()
                .pid(),
            2
        );
        assert_eq!(
            choose(base, all(), &wanted(None, Some("demo")), names)
                .unwrap()
                .pid(),
            1
        );
        assert_eq!(
            choose(base, all(), &wanted(Some(3), Some("api")), names)
                .unwrap()
                .pid(),
            3
        );

        let err = choose(base, all(), &wanted(Some(4), None), names).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no running spindle with pid 4 (looked for /t/spindle-4/control.sock)"
        );
        assert_eq!(err.exit_code(), 69);

        let err = choose(base, all(), &wanted(None, Some("web")), names).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no running spindle named \"web\" (running: pid 1 (demo), pid 2 (api), pid 3 (api))"
        );

        let err = choose(base, all(), &wanted(None, Some("api")), names).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("several spindles are running: pid 2 (api), pid 3 (api);"),
            "{err}"
        );

        let err = choose(base, all(), &wanted(Some(1), Some("api")), names).unwrap_err();
        assert!(err.to_string().contains("named \"api\""), "{err}");
    }
}
