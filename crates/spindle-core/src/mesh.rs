//! The in-process mesh: apps call each other at `http://<app-id>.plt.local` through the
//! core, with no TCP port. Each app's workers connect to their own Unix socket, so the
//! core knows who is calling (for `policies.deny`) without trusting a header. A call
//! takes the same path as public traffic to the callee: worker choice, queue, retry of
//! safe requests, and the callee's metrics.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;

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

/// Serves the mesh socket of app `from` until the listener is dropped.
pub async fn serve(listener: UnixListener, mesh: Arc<Mesh>, from: Arc<str>) {
    let route = Arc::new(MeshRoute { mesh, from });
    // The caller is one of our apps: what it says about its own client is believed.
    let settings = Arc::new(Settings {
        trust: spindle_config::TrustProxy::Everyone,
        timeouts: route.mesh.timeouts,
        ..Settings::default()
    });
    // Mesh calls come from inside this process; the caller app is the "client".
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(error = %err, app = &*route.from, "mesh accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let route = route.clone();
        let settings = settings.clone();
        tokio::spawn(async move {
            // A mesh connection ends with its caller; it has no shutdown of its own.
            let (_open, never) = tokio::sync::watch::channel(false);
            connection::serve(Arc::new(stream), peer, &*route, &settings, never).await;
        });
    }
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
    use super::app_of;

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
