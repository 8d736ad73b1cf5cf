//! The admin server: probes and metrics on their own OS thread and runtime, so no
//! data-plane load and no JavaScript can keep them from answering. Everything it serves
//! is rendered from snapshots and counters the core already holds.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use crate::metrics::{self, Format};
use crate::status::Status;

/// What the admin server reads from.
pub struct Admin {
    pub status: watch::Receiver<Arc<Status>>,
    /// Per app, the ingress counters.
    pub apps: crate::datapath::apps::Apps,
    pub node_version: Option<String>,
    /// The metrics path (`metrics.endpoint`).
    pub endpoint: String,
    /// `Authorization` header value that unlocks the metrics path, when `metrics.auth` is set.
    pub authorization: Option<String>,
    pub labels: Vec<(String, String)>,
    /// `metrics.applicationLabel` and `metrics.workerLabel`.
    pub names: metrics::LabelNames,
}

/// Runs the admin server (when metrics are enabled) and the management API on a new
/// thread named `spindle-admin`, with its own runtime, until `shutdown` turns true: the
/// core's close, right before the process exits, so that probes and metrics answer all
/// through the graceful shutdown.
pub fn spawn(
    admin: Option<(std::net::TcpListener, Admin)>,
    control: Option<(std::os::unix::net::UnixListener, crate::control::Control)>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    if let Some((listener, _)) = &admin {
        listener.set_nonblocking(true)?;
    }
    if let Some((socket, _)) = &control {
        socket.set_nonblocking(true)?;
    }
    std::thread::Builder::new()
        .name("spindle-admin".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("admin runtime");
            runtime.block_on(async move {
                let control = async {
                    let Some((socket, control)) = control else {
                        return;
                    };
                    match tokio::net::UnixListener::from_std(socket) {
                        Ok(socket) => {
                            crate::control::serve(socket, Arc::new(control), shutdown.clone()).await
                        }
                        Err(err) => tracing::error!(error = %err, "management socket unusable"),
                    }
                };
                let admin = async {
                    if let Some((listener, admin)) = admin {
                        serve(listener, Arc::new(admin), shutdown.clone()).await;
                    }
                };
                tokio::join!(admin, control);
            });
        })?;
    Ok(())
}

async fn serve(
    listener: std::net::TcpListener,
    admin: Arc<Admin>,
    shutdown: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(err) => {
            tracing::error!(error = %err, "admin listener unusable");
            return;
        }
    };
    crate::listener::run(&listener, shutdown, "admin", |(stream, _)| {
        let admin = admin.clone();
        spawn_http1(stream, move |req| {
            let admin = admin.clone();
            async move { admin.route(&req) }
        });
    })
    .await;
}

/// Serves one HTTP/1.1 connection of the admin thread's servers in a task of its own,
/// each request answered by `answer`.
pub(crate) fn spawn_http1<S, F, A, B>(stream: S, answer: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>) -> A + Send + 'static,
    A: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::spawn(async move {
        let service = service_fn(move |req| {
            let answer = answer(req);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
}

impl Admin {
    fn route<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return json(
                StatusCode::METHOD_NOT_ALLOWED,
                serde_json::json!({"error": "method_not_allowed"}),
            );
        }
        let status = self.status.borrow().clone();
        match req.uri().path() {
            "/live" => json(StatusCode::OK, serde_json::json!({"status": "live"})),
            "/ready" => match status.not_ready_reason() {
                None => json(StatusCode::OK, serde_json::json!({"status": "ready"})),
                Some(reason) => json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({"status": "not ready", "reason": reason}),
                ),
            },
            // Probes stay open for the kubelet; what the workers are doing is behind the
            // same auth as the metrics.
            "/status" => match self.unauthorized(req) {
                Some(refusal) => refusal,
                None => json(
                    StatusCode::OK,
                    serde_json::to_value(&*status).unwrap_or_default(),
                ),
            },
            path if path == self.endpoint => match self.unauthorized(req) {
                Some(refusal) => refusal,
                None => self.metrics(req, &status),
            },
            path => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({
                    "error": "not_found",
                    "message": format!("no admin route {path}; try /live, /ready, /status or {}", self.endpoint),
                }),
            ),
        }
    }

    /// A 401 when `metrics.auth` is set and the request does not carry it.
    fn unauthorized<B>(&self, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
        let expected = self.authorization.as_ref()?;
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .map_or(&[][..], |v| v.as_bytes());
        if same_secret(given, expected.as_bytes()) {
            return None;
        }
        let mut res = json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "unauthorized"}),
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"spindle metrics\""),
        );
        Some(res)
    }

    fn metrics<B>(&self, req: &Request<B>, status: &Status) -> Response<Full<Bytes>> {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let format = Format::from_accept(accept);
        let http = self.apps.snapshots();
        let process = metrics::process::read();
        let figures = metrics::render::read_figures(status, std::time::Instant::now());
        let input = metrics::Input {
            status,
            http: &http,
            process: &process,
            node_version: self.node_version.as_deref(),
            labels: &self.labels,
            names: &self.names,
            figures: &figures,
        };
        let mut res = Response::new(Full::new(Bytes::from(metrics::render(&input, format))));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        res
    }
}

/// Compares a credential in time that does not depend on where the first wrong byte is,
/// so its bytes cannot be guessed one at a time from response times.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(0) ^ e;
    }
    diff == 0
}

/// `Basic <base64(user:password)>`, the header a client sends for HTTP basic auth.
pub fn basic_authorization(username: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{username}:{password}");
    let mut out = String::from("Basic ");
    for chunk in input.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::{basic_authorization, same_secret};

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(same_secret(b"Basic YTpi", b"Basic YTpi"));
        assert!(!same_secret(b"Basic YTpj", b"Basic YTpi"));
        assert!(!same_secret(b"Basic YTp", b"Basic YTpi"));
        assert!(!same_secret(b"Basic YTpiX", b"Basic YTpi"));
        assert!(!same_secret(b"", b"Basic YTpi"));
    }

    #[test]
    fn basic_auth_header_is_base64_of_user_colon_password() {
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_authorization("a", "b"), "Basic YTpi");
        assert_eq!(basic_authorization("ab", "c"), "Basic YWI6Yw==");
    }
}
