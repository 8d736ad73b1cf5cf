//! The in-process mesh: apps call each other at `http://<app-id>.plt.local` through the
//! core, with no TCP port. Each app's workers connect to their own Unix socket, so the
//! core knows who is calling (for `policies.deny`) without trusting a header. A call
//! takes the same path as public traffic to the callee: worker choice, queue, retry of
//! safe requests, and the callee's metrics.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::watch;

use crate::datapath::apps::Apps;
use crate::datapath::connection::{self, AnswerWithin, Dispatch, Route, Settings};
use crate::datapath::http1::RequestHead;
use crate::datapath::reply;
use crate::datapath::watchdog::Timeouts;

/// The host suffix that names an app on the mesh.
pub const DOMAIN: &str = ".plt.local";

/// The socket an app's workers send their mesh calls to. Worker sockets are `w-*`, so no
/// app id can make the two collide.
pub fn socket_path(rundir: &Path, app: &str) -> PathBuf {
    rundir.join(format!("m-{app}.sock"))
}

/// What every mesh socket shares.
pub struct Mesh {
    pub apps: Apps,
    /// `policies.deny`, both directions: (from, to).
    pub deny: Vec<(String, String)>,
    /// `applicationTimeout`: the longest a call waits for the callee's response head.
    pub timeout: Duration,
    /// The public port's head, keep-alive and body timeouts, for mesh connections too.
    pub timeouts: Timeouts,
    /// Traces (`telemetry`), when on: a client and a server span per call.
    pub telemetry: Option<Arc<crate::telemetry::Telemetry>>,
}

/// Calls from one app.
struct MeshRoute {
    mesh: Arc<Mesh>,
    from: Arc<str>,
}

impl Route for MeshRoute {
    fn route(&self, head: &RequestHead<'_, '_>) -> Dispatch {
        let host = head.host.unwrap_or_default();
        let to = app_of(host).unwrap_or(host);
        let Some(app) = self.mesh.apps.get(to) else {
            return Dispatch::Reply(reply::unknown_app(to, &self.mesh.apps.ids()));
        };
        if self
            .mesh
            .deny
            .iter()
            .any(|(a, b)| **a == *self.from && b == to)
        {
            return Dispatch::Reply(reply::denied(&self.from, to));
        }
        Dispatch::App {
            app,
            strip: None,
            answer_within: Some(AnswerWithin {
                after: self.mesh.timeout,
                key: "applicationTimeout",
            }),
        }
    }
}

/// An app's mesh socket, bound and not yet served.
pub struct Socket {
    app: String,
    listener: std::os::unix::net::UnixListener,
}

impl Socket {
    /// Binds app `app`'s mesh socket in `rundir`.
    pub fn bind(rundir: &Path, app: &str) -> std::io::Result<Socket> {
        let listener = std::os::unix::net::UnixListener::bind(socket_path(rundir, app))?;
        listener.set_nonblocking(true)?;
        Ok(Socket {
            app: app.to_owned(),
            listener,
        })
    }
}

/// The mesh socket of each app, and how to stop serving it: a removed app's listener
/// ends with its last worker (draining workers may still call others until then).
#[derive(Clone, Default)]
pub struct Listeners(Arc<Mutex<HashMap<String, watch::Sender<bool>>>>);

impl Listeners {
    /// Serves a bound mesh socket on `runtime` until it is closed.
    pub fn serve(&self, runtime: &tokio::runtime::Handle, mesh: &Arc<Mesh>, socket: Socket) {
        let Socket { app, listener } = socket;
        let (stop_tx, stop) = watch::channel(false);
        let mesh = mesh.clone();
        let from: Arc<str> = app.as_str().into();
        self.lock().insert(app, stop_tx);
        runtime.spawn(async move {
            match UnixListener::from_std(listener) {
                Ok(listener) => serve(listener, mesh, from, stop).await,
                Err(err) => tracing::error!(error = %err, "mesh socket unusable"),
            }
        });
    }

    /// Stops serving app `app`'s mesh socket and removes it; calls in progress finish.
    pub fn close(&self, rundir: &Path, app: &str) {
        if let Some(stop) = self.lock().remove(app) {
            let _ = stop.send(true);
        }
        let _ = std::fs::remove_file(socket_path(rundir, app));
    }

    /// Stops serving every mesh socket (the process is ending; the sockets go with its
    /// directory).
    pub fn close_all(&self) {
        for (_, stop) in self.lock().drain() {
            let _ = stop.send(true);
        }
    }

    /// Apps whose mesh socket is served.
    pub fn open(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<bool>>> {
        crate::sync::lock(&self.0)
    }
}

/// Serves the mesh socket of app `from` until `stop` turns true.
pub async fn serve(
    listener: UnixListener,
    mesh: Arc<Mesh>,
    from: Arc<str>,
    stop: watch::Receiver<bool>,
) {
    let route = Arc::new(MeshRoute { mesh, from });
    // The caller is one of our apps: what it says about its own client is believed.
    let settings = Arc::new(Settings {
        trust: spindle_config::TrustProxy::Everyone,
        timeouts: route.mesh.timeouts,
        telemetry: route.mesh.telemetry.clone(),
        caller: Some(route.from.clone()),
        ..Settings::default()
    });
    // Mesh calls come from inside this process; the caller app is the "client".
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    let name = format!("mesh {}", route.from);
    crate::listener::run(&listener, stop, &name, |stream| {
        let route = route.clone();
        let settings = settings.clone();
        tokio::spawn(async move {
            // A mesh connection ends with its caller; it has no shutdown of its own.
            let (_open, never) = tokio::sync::watch::channel(false);
            connection::serve(Arc::new(stream), peer, &*route, &settings, never).await;
        });
    })
    .await;
}

/// `api.plt.local` or `api.plt.local:80` → `api`.
pub fn app_of(host: &str) -> Option<&str> {
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    host.strip_suffix(DOMAIN)
        .filter(|app| !app.is_empty() && !app.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_listener_stops_serving_and_lets_go_of_the_mesh() {
        let dir = std::env::temp_dir().join(format!("spindle-mesh-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mesh = Arc::new(Mesh {
            apps: Apps::default(),
            deny: Vec::new(),
            timeout: Duration::from_secs(1),
            timeouts: Timeouts::default(),
            telemetry: None,
        });
        let listeners = Listeners::default();
        let runtime = tokio::runtime::Handle::current();
        listeners.serve(&runtime, &mesh, Socket::bind(&dir, "gone").unwrap());
        assert_eq!(listeners.open(), 1);
        tokio::net::UnixStream::connect(socket_path(&dir, "gone"))
            .await
            .expect("served while open");
        listeners.close(&dir, "gone");
        assert_eq!(listeners.open(), 0);
        assert!(!socket_path(&dir, "gone").exists());
        // The serving task ends: it drops its share of the mesh.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&mesh) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            Arc::strong_count(&mesh),
            1,
            "the listener task is still running"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn host_names_an_app() {
        assert_eq!(app_of("api.plt.local"), Some("api"));
        assert_eq!(app_of("api.plt.local:80"), Some("api"));
        assert_eq!(app_of("API-2.plt.local"), Some("API-2"));
        assert_eq!(app_of("plt.local"), None);
        assert_eq!(app_of(".plt.local"), None);
        assert_eq!(app_of("a.b.plt.local"), None);
        assert_eq!(app_of("example.com"), None);
    }
}
