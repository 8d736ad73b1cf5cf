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

/// 503: every worker of the app is at its in-flight limit and the queue wait ran out.
pub fn overloaded(app: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": "overloaded",
        "app": app,
        "message": format!("every worker of app {app:?} is busy and the request waited its queueTimeout; retry shortly"),
    });
    let mut res = json(StatusCode::SERVICE_UNAVAILABLE, &body);
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// 503: the app gave up restarting its workers.
pub fn app_failed(app: &str, reason: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": "app_failed",
        "app": app,
        "message": format!("app {app:?} failed: {reason}"),
    });
    let mut res = json(StatusCode::SERVICE_UNAVAILABLE, &body);
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
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
