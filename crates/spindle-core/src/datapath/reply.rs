//! Answers the core gives itself when no worker can: short JSON that names the app (and
//! the worker, when one failed), written as a whole HTTP/1.1 response.

use std::io::Write;

use serde_json::json;

/// A response of our own.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The JSON body, newline included.
    pub body: String,
    pub retry_after: Option<&'static str>,
}

impl Reply {
    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            body: format!("{body}\n"),
            retry_after: None,
        }
    }

    fn unavailable(error: &str, app: &str, message: String, retry_after: &'static str) -> Reply {
        Reply {
            retry_after: Some(retry_after),
            ..Reply::json(503, json!({"error": error, "app": app, "message": message}))
        }
    }

    /// The `error` field of the body, for logs and tests.
    pub fn error(&self) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()?
            .get("error")?
            .as_str()
            .map(String::from)
    }

    /// Appends the response; `close` adds `connection: close`, `head_only` leaves the body
    /// out (the answer to a HEAD request).
    pub fn write(&self, close: bool, head_only: bool, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            self.status,
            reason(self.status),
            self.body.len()
        );
        if let Some(seconds) = self.retry_after {
            let _ = write!(out, "retry-after: {seconds}\r\n");
        }
        if close {
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// 503: the app has no Ready worker right now.
pub fn no_worker(app: &str) -> Reply {
    let message = format!("no worker of app {app:?} is ready to serve this request; retry shortly");
    Reply::unavailable("no_ready_worker", app, message, "1")
}

/// 503: every worker of the app is at its in-flight limit and the queue wait ran out.
pub fn overloaded(app: &str) -> Reply {
    let message = format!(
        "every worker of app {app:?} is busy and the request waited its queueTimeout; retry shortly"
    );
    Reply::unavailable("overloaded", app, message, "1")
}

/// 503: the app gave up restarting its workers; it will not recover by itself soon.
pub fn app_failed(app: &str, reason: &str) -> Reply {
    Reply::unavailable(
        "app_failed",
        app,
        format!("app {app:?} failed: {reason}"),
        "10",
    )
}

/// 502: the worker failed before it answered.
pub fn worker_failed(app: &str, worker: &str, cause: &str) -> Reply {
    Reply::json(
        502,
        json!({
            "error": "worker_failed",
            "app": app,
            "worker": worker,
            "message": format!("worker {worker} of app {app:?} failed before answering: {cause}"),
        }),
    )
}

/// 502: what the worker sent is not an HTTP response we can pass on.
pub fn bad_response(app: &str, worker: &str, cause: &str) -> Reply {
    Reply::json(
        502,
        json!({
            "error": "bad_response",
            "app": app,
            "worker": worker,
            "message": format!("worker {worker} of app {app:?} sent an invalid response: {cause}"),
        }),
    )
}

/// 502 to a mesh caller: no app answers to that host name.
pub fn unknown_app(app: &str, known: &[String]) -> Reply {
    Reply::json(
        502,
        json!({
            "error": "unknown_app",
            "app": app,
            "message": format!("no app {app:?} in this process (apps: {}); call http://<app-id>.plt.local", known.join(", ")),
        }),
    )
}

/// 403 to a mesh caller: `policies.deny` forbids this pair.
pub fn denied(from: &str, to: &str) -> Reply {
    Reply::json(
        403,
        json!({
            "error": "denied",
            "from": from,
            "to": to,
            "message": format!("app {from:?} may not call app {to:?} (policies.deny)"),
        }),
    )
}

/// 504: the app did not begin its answer within `key` (`applicationTimeout` on the mesh,
/// `responseTimeout` on the public port).
pub fn timeout(app: &str, worker: &str, ms: u128, key: &str) -> Reply {
    Reply::json(
        504,
        json!({
            "error": "timeout",
            "app": app,
            "worker": worker,
            "message": format!("worker {worker} of app {app:?} did not begin its answer within {ms} ms ({key})"),
        }),
    )
}

/// 4xx/5xx for a request refused before routing (bad framing, limits).
pub fn rejected(status: u16, reason: &str) -> Reply {
    let error = match status {
        408 => "request_timeout",
        413 => "too_large",
        _ => "bad_request",
    };
    Reply::json(status, json!({"error": error, "message": reason}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_a_whole_response() {
        let mut out = Vec::new();
        overloaded("web").write(true, false, &mut out);
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(head.contains("retry-after: 1"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(body.contains("\"app\":\"web\""), "{body}");
    }

    #[test]
    fn a_reply_to_head_has_no_body() {
        let mut out = Vec::new();
        let reply = worker_failed("web", "web:1", "the worker exited");
        reply.write(false, true, &mut out);
        assert!(out.ends_with(b"\r\n\r\n"));
        assert_eq!(reply.error().as_deref(), Some("worker_failed"));
    }
}
