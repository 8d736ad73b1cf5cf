//! Answers the ingress gives itself when no worker can: short JSON that names the app.

use http::{header, HeaderValue, Response, StatusCode};

use super::body::ProxyBody;

/// 503: the app has no Ready worker right now.
pub fn no_worker(app: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": "no_ready_worker",
        "app": app,
        "message": format!("no worker of app {app:?} is ready to serve this request; retry shortly"),
    });
    let mut res = json(StatusCode::SERVICE_UNAVAILABLE, &body);
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// 502: the worker failed before it answered.
pub fn worker_failed(app: &str, worker: &str, cause: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": "worker_failed",
        "app": app,
        "worker": worker,
        "message": format!("worker {worker} of app {app:?} failed before answering: {cause}"),
    });
    json(StatusCode::BAD_GATEWAY, &body)
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response<ProxyBody> {
    let mut res = Response::new(ProxyBody::local(format!("{body}\n")));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
