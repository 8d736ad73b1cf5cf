//! Start-up, step one: every socket the process serves is taken here, before anything
//! is built or started, so a taken port fails the start before any worker runs.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use spindle_config::Config;

use super::{StartError, CONTROL_SOCKET};
use crate::{mesh, rundir};

/// Every socket of the process, bound and not yet served.
pub(super) struct Bound {
    /// The public port (non-blocking, for the runtime).
    pub ingress: TcpListener,
    /// Where it listens, port 0 resolved.
    pub ingress_addr: SocketAddr,
    /// The admin port, when `metrics.enabled`.
    pub admin: Option<TcpListener>,
    pub admin_addr: Option<SocketAddr>,
    /// The process's private directory, which holds the Unix sockets.
    pub rundir: PathBuf,
    /// Each configured app's mesh socket.
    pub mesh: Vec<mesh::Socket>,
    /// The management API's socket, unless `managementApi: false`.
    pub control: Option<UnixListener>,
}

pub(super) fn bind(config: &Config) -> Result<Bound, StartError> {
    let ingress = tcp(
        "server",
        &config.server.hostname,
        config.server.port,
        config.server.backlog,
    )?;
    let ingress_addr = ingress.local_addr().map_err(StartError::Runtime)?;
    ingress.set_nonblocking(true).map_err(StartError::Runtime)?;
    let admin = if config.metrics.enabled {
        Some(tcp(
            "admin",
            &config.metrics.hostname,
            config.metrics.port,
            None,
        )?)
    } else {
        None
    };
    let admin_addr = admin.as_ref().and_then(|l| l.local_addr().ok());
    let base = spindle_config::run_base_dir();
    let rundir = rundir::create(&base).map_err(|source| StartError::RunDir { base, source })?;
    let unix = || -> Result<_, StartError> {
        let mesh = config
            .applications
            .iter()
            .map(|app| {
                mesh::Socket::bind(&rundir, &app.id).map_err(|source| StartError::RunDir {
                    base: mesh::socket_path(&rundir, &app.id),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        // `managementApi: false`: no socket at all, so nothing can find or steer this process.
        let control = if config.management_api {
            Some(control(&rundir.join(CONTROL_SOCKET))?)
        } else {
            None
        };
        Ok((mesh, control))
    };
    let (mesh, control) = unix().inspect_err(|_| rundir::remove(&rundir))?;
    Ok(Bound {
        ingress,
        ingress_addr,
        admin,
        admin_addr,
        rundir,
        mesh,
        control,
    })
}

/// The management API's socket, for this user only.
fn control(path: &Path) -> Result<UnixListener, StartError> {
    let failed = |source| StartError::RunDir {
        base: path.to_owned(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(failed)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    Ok(listener)
}

/// Binds `host:port`; `backlog` is `listen(2)`'s, else the standard library's (128).
fn tcp(
    what: &'static str,
    host: &str,
    port: u16,
    backlog: Option<u32>,
) -> Result<TcpListener, StartError> {
    let resolve = |source| StartError::Resolve {
        what,
        host: host.into(),
        port,
        source,
    };
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(resolve)?
        .next()
        .ok_or_else(|| resolve(std::io::Error::other("no address")))?;
    let Some(backlog) = backlog else {
        return TcpListener::bind(addr).map_err(|source| StartError::Bind { what, addr, source });
    };
    let listen = || -> std::io::Result<TcpListener> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        // As the standard library's bind does: a restart can take the port at once.
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        Ok(socket.into())
    };
    listen().map_err(|source| StartError::Bind { what, addr, source })
}

#[cfg(test)]
mod tests {
    use super::tcp;

    /// `ss` shows a listening socket's backlog as its Send-Q.
    #[test]
    fn the_backlog_given_is_the_listen_queue() {
        let listener = tcp("server", "127.0.0.1", 0, Some(7)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let out = std::process::Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output();
        let Ok(out) = out else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have ss (iproute2)"
            );
            eprintln!("SKIPPED: ss not installed");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let send_q: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(send_q.get(2), Some(&"7"), "{text}");
        let default = tcp("server", "127.0.0.1", 0, None).unwrap();
        assert!(default.local_addr().is_ok());
    }
}
