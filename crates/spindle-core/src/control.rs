//! The management API: HTTP+JSON on a Unix socket in the process's private directory
//! (0700, socket 0600), so only the user running Spindle can reach it. The `spindle`
//! command's `ps`, `logs`, `restart`, `scale`, `metrics`, `inject`, `stop` and `top` use it.
//! It runs on the admin thread, so data-plane load cannot starve it either.

use std::collections::HashMap;
use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{json, Value};
use tokio::net::UnixListener;
use tokio::sync::{broadcast, mpsc, watch};

use crate::logs::{LogSink, TapLine};
use crate::metrics::{self, Format};
use crate::status::Status;
use crate::supervisor::Event;

/// Largest request body the API reads (scale and inject payloads).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Most workers one `scale` may ask for: a typo should not start a thousand threads.
pub const MAX_WORKERS: u32 = 64;

type Body = BoxBody<Bytes, Infallible>;

/// What the API reports about the process as a whole.
pub struct Meta {
    pub pid: u32,
    /// The config file the server started from, if any (`spindle apps add --save` edits it).
    pub config: Option<std::path::PathBuf>,
    pub name: String,
    pub node: Option<String>,
    pub started: Instant,
    pub url: String,
    pub admin: Option<String>,
}

pub struct Control {
    pub meta: Meta,
    pub status: watch::Receiver<Arc<Status>>,
    /// One per app: injected requests take the same path as public ones.
    pub apps: crate::datapath::apps::Apps,
    pub labels: Vec<(String, String)>,
    /// `metrics.applicationLabel` and `metrics.workerLabel`.
    pub names: metrics::LabelNames,
    pub events: mpsc::UnboundedSender<Event>,
    /// Asks the core to run its graceful shutdown.
    pub stop: mpsc::UnboundedSender<()>,
    pub logs: LogSink,
    pub hot: Arc<crate::hot::HotApps>,
}

/// Serves the management API until `shutdown` turns true.
pub async fn serve(listener: UnixListener, control: Arc<Control>, shutdown: watch::Receiver<bool>) {
    crate::listener::run(&listener, shutdown, "management", |stream| {
        let control = control.clone();
        crate::admin::spawn_http1(stream, move |req| {
            let control = control.clone();
            async move { control.route(req).await }
        });
    })
    .await;
}

impl Control {
    async fn route(&self, req: Request<Incoming>) -> Response<Body> {
        let path: Vec<String> = req
            .uri()
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let query = parse_query(req.uri().query().unwrap_or(""));
        match (req.method().clone(), segments.as_slice()) {
            (Method::GET, ["v1", "status"]) => self.status(),
            (Method::GET, ["v1", "apps"]) => {
                json_response(StatusCode::OK, json!({"apps": self.status.borrow().apps}))
            }
            (Method::POST, ["v1", "apps"]) => self.add_app(req).await,
            (Method::DELETE, ["v1", "apps", app]) => match self.hot.remove(app) {
                Ok(()) => {
                    json_response(StatusCode::ACCEPTED, json!({"app": app, "removing": true}))
                }
                Err(refused) => refusal(refused),
            },
            (Method::POST, ["v1", "restart"]) => {
                let apps: Vec<String> = self
                    .status
                    .borrow()
                    .apps
                    .iter()
                    .map(|a| a.id.clone())
                    .collect();
                let _ = self.events.send(Event::Restart(None));
                json_response(StatusCode::ACCEPTED, json!({"apps": apps}))
            }
            (Method::POST, ["v1", "apps", app, "restart"]) => match self.known(app) {
                Err(err) => err.into_response(),
                Ok(app) => {
                    let _ = self.events.send(Event::Restart(Some(app.as_str().into())));
                    json_response(StatusCode::ACCEPTED, json!({"app": app}))
                }
            },
            (Method::POST, ["v1", "apps", app, "scale"]) => {
                let app = app.to_string();
                self.scale(&app, req).await
            }
            (Method::POST, ["v1", "apps", app, "inject"]) => {
                let app = app.to_string();
                self.inject(&app, req).await
            }
            (Method::GET, ["v1", "logs"]) => self.logs(&query),
            (Method::GET, ["v1", "metrics"]) => self.metrics(&query),
            (Method::POST, ["v1", "stop"]) => {
                let _ = self.stop.send(());
                json_response(StatusCode::ACCEPTED, json!({"stopping": true}))
            }
            (_, ["v1", ..]) => error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no route {} {}", req.method(), req.uri().path()),
            ),
            _ => error(
                StatusCode::NOT_FOUND,
                "not_found",
                "the management API lives under /v1".into(),
            ),
        }
    }

    /// The app's id as the status spells it, or a 404 that lists the apps there are.
    fn known(&self, app: &str) -> Result<String, ApiError> {
        let status = self.status.borrow();
        if status.apps.iter().any(|a| a.id == app) {
            return Ok(app.to_string());
        }
        let apps: Vec<&str> = status.apps.iter().map(|a| a.id.as_str()).collect();
        Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_app",
            format!("no app {app:?} (apps: {})", apps.join(", ")),
        ))
    }

    fn status(&self) -> Response<Body> {
        let status = self.status.borrow().clone();
        let m = &self.meta;
        json_response(
            StatusCode::OK,
            json!({
                "pid": m.pid,
                "config": m.config.as_ref().map(|p| p.display().to_string()),
                "name": m.name,
                "version": env!("CARGO_PKG_VERSION"),
                "node": m.node,
                "uptimeMs": m.started.elapsed().as_millis() as u64,
                "url": m.url,
                "admin": m.admin,
                "phase": status.phase,
                "ready": status.not_ready_reason().is_none(),
                "notReadyReason": status.not_ready_reason(),
                "apps": status.apps,
            }),
        )
    }

    async fn add_app(&self, req: Request<Incoming>) -> Response<Body> {
        let body = match read_json(req).await {
            Ok(body) => body,
            Err(err) => return err.into_response(),
        };
        let Some(path) = body.get("path").and_then(Value::as_str) else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("expected {{\"path\": DIR}}, got {body}"),
            );
        };
        let id = body.get("id").and_then(Value::as_str);
        let workers = body
            .get("workers")
            .and_then(Value::as_u64)
            .map(|n| n.min(u32::MAX as u64) as u32);
        let route = body.get("route").and_then(Value::as_str);
        match self.hot.add(std::path::Path::new(path), id, workers, route) {
            Ok(app) => json_response(StatusCode::CREATED, json!({"app": app})),
            Err(refused) => refusal(refused),
        }
    }

    async fn scale(&self, app: &str, req: Request<Incoming>) -> Response<Body> {
        let app = match self.known(app) {
            Ok(app) => app,
            Err(err) => return err.into_response(),
        };
        let body = match read_json(req).await {
            Ok(body) => body,
            Err(err) => return err.into_response(),
        };
        let workers = body
            .get("workers")
            .and_then(Value::as_u64)
            .filter(|n| (1..=MAX_WORKERS as u64).contains(n));
        let Some(workers) = workers.and_then(|n| NonZeroU32::new(n as u32)) else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("expected {{\"workers\": N}} with N from 1 to {MAX_WORKERS}, got {body}"),
            );
        };
        let _ = self.events.send(Event::Scale {
            app: app.as_str().into(),
            workers,
        });
        json_response(
            StatusCode::OK,
            json!({"app": app, "workers": workers.get()}),
        )
    }

    async fn inject(&self, app: &str, req: Request<Incoming>) -> Response<Body> {
        let app = match self.known(app) {
            Ok(app) => app,
            Err(err) => return err.into_response(),
        };
        let body = match read_json(req).await {
            Ok(body) => body,
            Err(err) => return err.into_response(),
        };
        let request = match injected_request(&body) {
            Ok(r) => r,
            Err(message) => return error(StatusCode::BAD_REQUEST, "bad_request", message),
        };
        let Some(target) = self.apps.get(&app) else {
            return error(
                StatusCode::NOT_FOUND,
                "unknown_app",
                format!("no app {app:?}"),
            );
        };
        let res = match crate::datapath::inject::send(&self.hot.runtime, target, request).await {
            Ok(res) => res,
            Err(err) => {
                return error(
                    StatusCode::BAD_GATEWAY,
                    "worker_failed",
                    format!("reading the app's answer failed: {err}"),
                )
            }
        };
        let (parts, bytes) = res.into_parts();
        let mut headers = serde_json::Map::new();
        for name in parts.headers.keys() {
            let values: Vec<&str> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            headers.insert(name.to_string(), Value::String(values.join(", ")));
        }
        json_response(
            StatusCode::OK,
            json!({"status": parts.status.as_u16(), "headers": headers, "body": String::from_utf8_lossy(&bytes)}),
        )
    }

    fn logs(&self, query: &HashMap<String, String>) -> Response<Body> {
        let app = query.get("app").cloned();
        if let Some(app) = &app {
            if let Err(err) = self.known(app) {
                return err.into_response();
            }
        }
        let tail = query
            .get("tail")
            .and_then(|n| n.parse().ok())
            .unwrap_or(100);
        let follow = matches!(query.get("follow").map(String::as_str), Some("true" | "1"));
        let (recent, feed) = self.logs.subscribe(app.as_deref(), tail);
        let mut text = String::new();
        for line in recent {
            text.push_str(&line.json);
            text.push('\n');
        }
        let mut res = if follow {
            let first = futures_util::stream::once(async move {
                Ok::<_, Infallible>(Frame::data(Bytes::from(text)))
            });
            let rest = futures_util::stream::unfold((feed, app), |(mut feed, app)| async move {
                loop {
                    match feed.recv().await {
                        Ok(line) if wanted(&line, app.as_deref()) => {
                            let frame = Frame::data(Bytes::from(format!("{}\n", line.json)));
                            return Some((Ok(frame), (feed, app)));
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            });
            Response::new(StreamBody::new(futures_util::StreamExt::chain(first, rest)).boxed())
        } else {
            Response::new(Full::new(Bytes::from(text)).boxed())
        };
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        res
    }

    fn metrics(&self, query: &HashMap<String, String>) -> Response<Body> {
        let status = self.status.borrow().clone();
        let http = self.apps.snapshots();
        if query.get("format").map(String::as_str) == Some("json") {
            let apps: Vec<Value> = http.iter().map(|(app, s)| metrics_json(app, s)).collect();
            return json_response(StatusCode::OK, json!({"apps": apps}));
        }
        let process = metrics::process::read();
        let figures = metrics::render::read_figures(&status, std::time::Instant::now());
        let input = metrics::Input {
            status: &status,
            http: &http,
            process: &process,
            node_version: self.meta.node.as_deref(),
            labels: &self.labels,
            names: &self.names,
            figures: &figures,
        };
        let mut res = Response::new(
            Full::new(Bytes::from(metrics::render(&input, Format::Prometheus))).boxed(),
        );
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(Format::Prometheus.content_type()),
        );
        res
    }
}

fn wanted(line: &TapLine, app: Option<&str>) -> bool {
    app.is_none_or(|a| line.app.as_deref() == Some(a))
}

fn metrics_json(app: &str, s: &metrics::http::HttpSnapshot) -> Value {
    let requests: Vec<Value> = s
        .requests_by_class()
        .iter()
        .map(|(method, class, n)| json!({"method": method, "codeClass": class, "count": n}))
        .collect();
    let latency: Vec<Value> = s
        .latency_by_class()
        .iter()
        .map(|(class, h)| {
            let buckets: Vec<Value> =
                metrics::histogram::BUCKETS.iter().zip(&h.cumulative).map(|(le, n)| json!([le, n])).collect();
            json!({"codeClass": class, "buckets": buckets, "count": h.count, "sumSeconds": h.sum_seconds})
        })
        .collect();
    let rejected: serde_json::Map<String, Value> = s
        .rejected
        .iter()
        .map(|(r, n)| (r.to_string(), json!(n)))
        .collect();
    json!({"id": app, "requests": requests, "latency": latency, "rejected": rejected, "retried": s.retried})
}

/// `{method, path, headers, body}` → a request for the app's workers.
fn injected_request(body: &Value) -> Result<Request<Full<Bytes>>, String> {
    let method = body.get("method").and_then(Value::as_str).unwrap_or("GET");
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| format!("invalid method {method:?}"))?;
    let path = body.get("path").and_then(Value::as_str).unwrap_or("/");
    if !path.starts_with('/') {
        return Err(format!("path must start with \"/\", got {path:?}"));
    }
    let mut builder = Request::builder().method(method).uri(path);
    let mut has_host = false;
    if let Some(headers) = body.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            let value = value
                .as_str()
                .ok_or_else(|| format!("header {name:?} must be a string"))?;
            has_host |= name.eq_ignore_ascii_case("host");
            builder = builder.header(name.as_str(), value);
        }
    }
    if !has_host {
        builder = builder.header(header::HOST, "localhost");
    }
    let data = body
        .get("body")
        .and_then(Value::as_str)
        .map(|s| Bytes::from(s.to_owned()));
    builder
        .body(Full::new(data.unwrap_or_default()))
        .map_err(|e| format!("invalid request: {e}"))
}

async fn read_json(req: Request<Incoming>) -> Result<Value, ApiError> {
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::PAYLOAD_TOO_LARGE,
                "bad_request",
                format!("cannot read the body: {e}"),
            )
        })?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid JSON body: {e}"),
        )
    })
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn refusal(crate::hot::Refused(status, code, message): crate::hot::Refused) -> Response<Body> {
    error(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code,
        message,
    )
}

fn json_response(status: StatusCode, body: Value) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from(format!("{body}\n"))).boxed());
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn error(status: StatusCode, code: &str, message: String) -> Response<Body> {
    json_response(status, json!({"code": code, "message": message}))
}

/// An API error before a response exists: status, code and message.
struct ApiError(StatusCode, &'static str, String);

impl ApiError {
    fn into_response(self) -> Response<Body> {
        error(self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_requests_default_to_get_slash_with_a_host() {
        let req = injected_request(&json!({})).unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/");
        assert_eq!(req.headers()["host"], "localhost");
        let req = injected_request(
            &json!({"method": "POST", "path": "/x?y=1", "headers": {"X-A": "1"}, "body": "hi"}),
        )
        .unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "/x?y=1");
        assert_eq!(req.headers()["x-a"], "1");
        let body = req.body().clone();
        let body = futures_util::FutureExt::now_or_never(body.collect());
        assert_eq!(body.unwrap().unwrap().to_bytes(), "hi");
    }

    #[test]
    fn injected_requests_are_checked() {
        let err = |body: Value| injected_request(&body).expect_err("rejected");
        assert!(err(json!({"path": "x"})).contains("must start with"));
        assert!(err(json!({"method": "BAD METHOD"})).contains("invalid method"));
        assert!(err(json!({"headers": {"a": 1}})).contains("must be a string"));
    }

    #[test]
    fn query_strings() {
        let q = parse_query("app=web&tail=5&follow");
        assert_eq!(q["app"], "web");
        assert_eq!(q["tail"], "5");
        assert_eq!(q["follow"], "");
    }
}
