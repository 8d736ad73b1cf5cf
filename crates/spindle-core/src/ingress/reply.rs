//! Answers the ingress gives itself when no worker can: short JSON that names the app.

use http::{header, HeaderValue, Response, StatusCode};

use super::body::ProxyBody;

/// 503: the app has no Ready worker right now.
pub fn no_worker(app: &str) -> Response<ProxyBody> {
    let message = format!("no worker of app {app:?} is ready to serve this request; retry shortly");
    unavailable("no_ready_worker", app, message, "1")
}

/// 503: every worker of the app is at its in-flight limit and the queue wait ran out.
pub fn overloaded(app: &str) -> Response<ProxyBody> {
    let message =
        format!("every worker of app {app:?} is busy and the request waited its queueTimeout; retry shortly");
    unavailable("overloaded", app, message, "1")
}

/// 503: the app gave up restarting its workers; it will not recover by itself soon.
pub fn app_failed(app: &str, reason: &str) -> Response<ProxyBody> {
    unavailable(
        "app_failed",
        app,
        format!("app {app:?} failed: {reason}"),
        "10",
    )
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

/// 502 to a mesh caller: no app answers to that host name.
pub fn unknown_app(app: &str, known: &[String]) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": "unknown_app",
        "app": app,
        "message": format!("no app {app:?} in this process (apps: {}); call http://<app-id>.plt.local", known.join(", ")),
    });
    json(StatusCode::BAD_GATEWAY, &body)
}

/// 403 to a mesh caller: `policies.deny` forbids this pair.
pub fn denied(from: &str, to: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": "denied",
        "from": from,
        "to": to,
        "message": format!("app {from:?} may not call app {to:?} (policies.deny)"),
    });
    json(StatusCode::FORBIDDEN, &body)
}

/// 504 to a mesh caller: the callee did not answer within `applicationTimeout`.
pub fn timeout(app: &str, ms: u128) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "error": "timeout",
        "app": app,
        "message": format!("app {app:?} did not answer within {ms} ms (applicationTimeout)"),
    });
    json(StatusCode::GATEWAY_TIMEOUT, &body)
}

fn unavailable(
    error: &str,
    app: &str,
    message: String,
    retry_after: &'static str,
) -> Response<ProxyBody> {
    let body = serde_json::json!({"error": error, "app": app, "message": message});
    let mut res = json(StatusCode::SERVICE_UNAVAILABLE, &body);
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(retry_after));
    res
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
