//! The admin server: probes (and, later, metrics) on their own OS thread and runtime, so
//! no data-plane load and no JavaScript can keep them from answering.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use crate::status::Status;

/// Runs the admin server on a new thread named `spindle-admin` until the process ends.
pub fn spawn(
    listener: std::net::TcpListener,
    status: watch::Receiver<Arc<Status>>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("spindle-admin".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("admin runtime");
            runtime.block_on(serve(listener, status));
        })?;
    Ok(())
}

async fn serve(listener: std::net::TcpListener, status: watch::Receiver<Arc<Status>>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(err) => {
            tracing::error!(error = %err, "admin listener unusable");
            return;
        }
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let status = status.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let snapshot = status.borrow().clone();
                async move { Ok::<_, Infallible>(route(&req, &snapshot)) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn route<B>(req: &Request<B>, status: &Status) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"error": "method_not_allowed"}),
        );
    }
    match req.uri().path() {
        "/live" => json(StatusCode::OK, serde_json::json!({"status": "live"})),
        "/ready" => match status.not_ready_reason() {
            None => json(StatusCode::OK, serde_json::json!({"status": "ready"})),
            Some(reason) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"status": "not ready", "reason": reason}),
            ),
        },
        "/status" => json(
            StatusCode::OK,
            serde_json::to_value(status).unwrap_or_default(),
        ),
        path => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "not_found", "message": format!("no admin route {path}; try /live, /ready or /status")}),
        ),
    }
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
