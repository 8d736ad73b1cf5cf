//! The in-process mesh: apps call each other at `http://<app-id>.plt.local` through the
//! core, with no TCP port. Each app's workers connect to their own Unix socket, so the
//! core knows who is calling (for `policies.deny`) without trusting a header. A call
//! takes the same path as public traffic to the callee: worker choice, queue, retry of
//! safe requests, and the callee's metrics.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{header, Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

use crate::ingress::reply;
use crate::ingress::ProxyBody;

/// The host suffix that names an app on the mesh.
pub const DOMAIN: &str = ".plt.local";

/// The socket an app's workers send their mesh calls to.
pub fn socket_path(rundir: &std::path::Path, app: &str) -> std::path::PathBuf {
    rundir.join(format!("mesh-{app}.sock"))
}

/// What every mesh socket shares.
pub struct Mesh {
    pub registry: crate::registry::Registry,
    /// `policies.deny`, both directions: (from, to).
    pub deny: Vec<(String, String)>,
    /// `applicationTimeout`: the longest a call waits for the callee's response head.
    pub timeout: Duration,
}

/// Serves the mesh socket of app `from` until the process ends.
pub async fn serve(listener: UnixListener, mesh: Arc<Mesh>, from: Arc<str>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let mesh = mesh.clone();
        let from = from.clone();
        tokio::spawn(async move {
            let caller = from.clone();
            let service = service_fn(move |req| {
                let mesh = mesh.clone();
                let from = caller.clone();
                async move { Ok::<_, Infallible>(mesh.call(&from, req).await) }
            });
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, app = &*from, "mesh connection ended with an error");
            }
        });
    }
}

impl Mesh {
    async fn call(&self, from: &str, req: Request<Incoming>) -> Response<ProxyBody> {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let to = app_of(host).unwrap_or(host).to_string();
        let Some(proxy) = self.registry.proxy(&to) else {
            return reply::unknown_app(&to, &self.registry.ids());
        };
        if self.deny.iter().any(|(a, b)| a == from && *b == to) {
            return reply::denied(from, &to);
        }
        // Mesh calls come from inside this process; the caller app is the "client".
        let peer = SocketAddr::from(([127, 0, 0, 1], 0));
        match tokio::time::timeout(self.timeout, proxy.forward(req, peer)).await {
            Ok(res) => res,
            Err(_) => reply::timeout(&to, self.timeout.as_millis()),
        }
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
