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
use serde::Serialize;
use serde_json::Value;
use spindle_api as api;
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
                let apps = self.status.borrow().apps.clone();
                json_response(StatusCode::OK, &api::Apps { apps })
            }
            (Method::POST, ["v1", "apps"]) => self
                .add_app(req)
                .await
                .unwrap_or_else(ApiError::into_response),
            (Method::DELETE, ["v1", "apps", app]) => match self.hot.remove(app) {
                Ok(()) => json_response(
                    StatusCode::ACCEPTED,
                    &api::Removing {
                        app: app.to_string(),
                        removing: true,
                    },
                ),
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
                json_response(StatusCode::ACCEPTED, &api::Restarting { apps })
            }
            (Method::POST, ["v1", "apps", app, "restart"]) => match self.known(app) {
                Err(err) => err.into_response(),
                Ok(app) => {
                    let _ = self.events.send(Event::Restart(Some(app.as_str().into())));
                    json_response(StatusCode::ACCEPTED, &api::AppRestarting { app })
                }
            },
            (Method::POST, ["v1", "apps", app, "scale"]) => {
                let app = app.to_string();
                self.scale(&app, req)
                    .await
                    .unwrap_or_else(ApiError::into_response)
            }
            (Method::POST, ["v1", "apps", app, "inject"]) => {
                let app = app.to_string();
                self.inject(&app, req)
                    .await
                    .unwrap_or_else(ApiError::into_response)
            }
            (Method::GET, ["v1", "logs"]) => self.logs(&query),
            (Method::GET, ["v1", "metrics"]) => self.metrics(&query),
            (Method::POST, ["v1", "stop"]) => {
                let _ = self.stop.send(());
                json_response(StatusCode::ACCEPTED, &api::Stopping { stopping: true })
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
        let not_ready_reason = status.not_ready_reason();
        let m = &self.meta;
        json_response(
            StatusCode::OK,
            &api::Status {
                pid: m.pid,
                config: m.config.as_ref().map(|p| p.display().to_string()),
                name: m.name.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                node: m.node.clone(),
                uptime_ms: m.started.elapsed().as_millis() as u64,
                url: Some(m.url.clone()),
                admin: m.admin.clone(),
                phase: status.phase,
                ready: not_ready_reason.is_none(),
                not_ready_reason,
                apps: status.apps.clone(),
            },
        )
    }

    async fn add_app(&self, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let body = read_json(req).await?;
        let request: api::AddApp = api::from_object(&body).unwrap_or_default();
        let Some(path) = request.path else {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("expected {{\"path\": DIR}}, got {body}"),
            ));
        };
        let workers = request.workers.map(|n| n.min(u32::MAX as u64) as u32);
        let added = self.hot.add(
            std::path::Path::new(&path),
            request.id.as_deref(),
            workers,
            request.route.as_deref(),
        );
        Ok(match added {
            Ok(app) => json_response(StatusCode::CREATED, &api::Added { app }),
            Err(refused) => refusal(refused),
        })
    }

    async fn scale(&self, app: &str, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let app = self.known(app)?;
        let body = read_json(req).await?;
        let request: api::ScaleRequest = api::from_object(&body).unwrap_or_default();
        let workers = request
            .workers
            .filter(|n| (1..=MAX_WORKERS).contains(n))
            .and_then(NonZeroU32::new);
        let Some(workers) = workers else {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("expected {{\"workers\": N}} with N from 1 to {MAX_WORKERS}, got {body}"),
            ));
        };
        let _ = self.events.send(Event::Scale {
            app: app.as_str().into(),
            workers,
        });
        let workers = workers.get();
        Ok(json_response(StatusCode::OK, &api::Scaled { app, workers }))
    }

    async fn inject(&self, app: &str, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let app = self.known(app)?;
        let body = read_json(req).await?;
        let request = injected_request(&body)
            .map_err(|message| ApiError(StatusCode::BAD_REQUEST, "bad_request", message))?;
        let Some(target) = self.apps.get(&app) else {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                "unknown_app",
                format!("no app {app:?}"),
            ));
        };
        let res = crate::datapath::inject::send(&self.hot.wiring.runtime, target, request)
            .await
            .map_err(|err| {
                ApiError(
                    StatusCode::BAD_GATEWAY,
                    "worker_failed",
                    format!("reading the app's answer failed: {err}"),
                )
            })?;
        let (parts, bytes) = res.into_parts();
        let headers = parts
            .headers
            .keys()
            .map(|name| {
                let values: Vec<&str> = parts
                    .headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                (name.to_string(), Value::String(values.join(", ")))
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &api::Injected {
                status: parts.status.as_u16(),
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            },
        ))
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
            let apps = http.iter().map(|(app, s)| metrics_json(app, s)).collect();
            return json_response(StatusCode::OK, &api::Metrics { apps });
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

fn metrics_json(app: &str, s: &metrics::http::HttpSnapshot) -> api::AppMetrics {
    let requests = s
        .requests_by_class()
        .iter()
        .map(|(method, class, n)| api::RequestCount {
            method: method.to_string(),
            code_class: class.to_string(),
            count: *n,
        })
        .collect();
    let latency = s
        .latency_by_class()
        .iter()
        .map(|(class, h)| api::Latency {
            code_class: class.to_string(),
            buckets: metrics::histogram::BUCKETS
                .iter()
                .copied()
                .zip(h.cumulative.iter().copied())
                .collect(),
            count: h.count,
            sum_seconds: h.sum_seconds,
        })
        .collect();
    api::AppMetrics {
        id: app.to_string(),
        requests,
        latency,
        rejected: s
            .rejected
            .iter()
            .map(|(r, n)| (r.to_string(), *n))
            .collect(),
        retried: s.retried,
    }
}

/// `{method, path, headers, body}` → a request for the app's workers.
fn injected_request(body: &Value) -> Result<Request<Full<Bytes>>, String> {
    let request: api::InjectRequest = api::from_object(body).map_err(|e| e.to_string())?;
    let method = request.method.as_deref().unwrap_or("GET");
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| format!("invalid method {method:?}"))?;
    let path = request.path.as_deref().unwrap_or("/");
    if !path.starts_with('/') {
        return Err(format!("path must start with \"/\", got {path:?}"));
    }
    let mut builder = Request::builder().method(method).uri(path);
    let mut has_host = false;
    for (name, value) in &request.headers {
        has_host |= name.eq_ignore_ascii_case("host");
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !has_host {
        builder = builder.header(header::HOST, "localhost");
    }
    builder
        .body(Full::new(request.body.map(Bytes::from).unwrap_or_default()))
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

/// Through a `Value`, whose keys are sorted: answers keep the key order they always had.
fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_value(body).unwrap_or_default();
    let mut res = Response::new(Full::new(Bytes::from(format!("{body}\n"))).boxed());
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn error(status: StatusCode, code: &str, message: String) -> Response<Body> {
    json_response(status, &api::ErrorBody::new(code, message))
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
    use serde_json::json;

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
