//! A minimal HTTP/1.1 client over hyper: one fresh TCP connection per request, so a test
//! can tell a refused connection from a reset one, and every call is bounded in time.

use std::convert::Infallible;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::uri::Authority;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use crate::STEP_TIMEOUT;

/// A request body: empty, in memory, or streamed.
pub type Body = BoxBody<Bytes, Infallible>;

/// Why a request got no response.
#[derive(Debug)]
pub enum ClientError {
    /// The TCP connection could not be made (e.g. refused: nothing listening).
    Connect(std::io::Error),
    /// The connection was made but the exchange failed (reset, closed early, bad response).
    Http(hyper::Error),
    /// No response within the time allowed.
    Timeout,
}

impl ClientError {
    /// The connection was refused: nothing is listening.
    pub fn is_refused(&self) -> bool {
        matches!(self, ClientError::Connect(err) if err.kind() == std::io::ErrorKind::ConnectionRefused)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect(err) => write!(f, "connect: {err}"),
            ClientError::Http(err) => {
                write!(f, "http: {err}")?;
                let mut source = std::error::Error::source(err);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            ClientError::Timeout => write!(f, "timed out"),
        }
    }
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The body as JSON; panics with the body text when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "response ({}) is not JSON: {err}; body: {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().boxed()
}

/// An in-memory body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// The authority (`host:port`) and the path with its query of `url`; panics when it is not
/// an absolute URL.
pub(crate) fn authority_and_path(url: &str) -> (Authority, String) {
    let uri: Uri = url
        .parse()
        .unwrap_or_else(|err| panic!("bad URL {url}: {err}"));
    let authority = uri
        .authority()
        .unwrap_or_else(|| panic!("URL without host: {url}"))
        .clone();
    let path = uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    (authority, path)
}

/// Connects to `uri`'s host and port and sends `request` (whose Host header is set from
/// the URI when absent). Returns the response head with its body still streaming.
pub async fn send_streaming(
    uri: &str,
    method: Method,
    body: Body,
) -> Result<hyper::Response<Incoming>, ClientError> {
    send_head(uri, method, &[], body).await
}

/// Like [`send_streaming`], with extra request headers; a `host` among them replaces the
/// one taken from the URI.
async fn send_head(
    uri: &str,
    method: Method,
    headers: &[(&str, &str)],
    body: Body,
) -> Result<hyper::Response<Incoming>, ClientError> {
    let (authority, path) = authority_and_path(uri);
    let stream = TcpStream::connect(authority.as_str())
        .await
        .map_err(ClientError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ClientError::Http)?;
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });
    let mut request = Request::builder().method(method).uri(path);
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request = request.header(http::header::HOST, authority.as_str());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    sender
        .send_request(request.body(body).expect("valid request"))
        .await
        .map_err(ClientError::Http)
}

/// Sends a request and reads the whole response, within `timeout`.
pub async fn try_request(
    uri: &str,
    method: Method,
    body: Body,
    timeout: Duration,
) -> Result<Response, ClientError> {
    try_request_with_headers(uri, method, &[], body, timeout).await
}

/// Like [`try_request`], with extra request headers (a `host` among them replaces the one
/// taken from the URI).
pub async fn try_request_with_headers(
    uri: &str,
    method: Method,
    headers: &[(&str, &str)],
    body: Body,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let exchange = async {
        let response = send_head(uri, method, headers, body).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(ClientError::Http)?.to_bytes();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(ClientError::Timeout))
}

/// GET, returning the error instead of panicking.
pub async fn try_get(uri: &str) -> Result<Response, ClientError> {
    try_request(uri, Method::GET, empty(), STEP_TIMEOUT).await
}

/// GET; panics on any failure to get a response.
pub async fn get(uri: &str) -> Response {
    try_get(uri)
        .await
        .unwrap_or_else(|err| panic!("GET {uri}: {err}"))
}

/// GET, asserting a 200 and a JSON body, which it returns.
pub async fn get_json(uri: &str) -> Value {
    let response = get(uri).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "GET {uri}: body {}",
        response.text()
    );
    response.json()
}

/// POST `body`, returning the error instead of panicking.
pub async fn try_post(uri: &str, body: Body) -> Result<Response, ClientError> {
    try_request(uri, Method::POST, body, STEP_TIMEOUT).await
}

/// POST `body`; panics on any failure to get a response.
pub async fn post(uri: &str, body: impl Into<Bytes>) -> Response {
    try_post(uri, full(body))
        .await
        .unwrap_or_else(|err| panic!("POST {uri}: {err}"))
}

/// GETs `uri` every 20 ms until something answers (its port may not be bound yet), for up
/// to `timeout`; panics when nothing does.
pub async fn get_when_up(uri: &str, timeout: Duration) -> Response {
    poll(timeout, || async { try_get(uri).await.ok() })
        .await
        .unwrap_or_else(|| panic!("GET {uri}: nothing answered within {timeout:?}"))
}

/// GET that must be answered in full within `limit` (a probe or a scrape that no worker
/// may hold up); panics otherwise.
pub async fn get_within(uri: &str, limit: Duration) -> Response {
    let started = tokio::time::Instant::now();
    let response = try_request(uri, Method::GET, full(""), limit)
        .await
        .unwrap_or_else(|err| panic!("GET {uri} did not answer within {limit:?}: {err}"));
    assert!(
        started.elapsed() < limit,
        "GET {uri} took {:?}, more than {limit:?}",
        started.elapsed()
    );
    response
}

/// Polls `probe` until it returns `Some`, every 20 ms, for at most `timeout`; `None` when
/// the time ran out. For waiting on state that has no event to await (a port closing).
pub async fn poll<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tick.tick().await;
        if let Some(value) = probe().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
    }
}

/// GET with extra request headers; panics on any failure to get a response.
pub async fn send_with_headers(uri: &str, headers: &[(&str, &str)]) -> Response {
    try_request_with_headers(uri, Method::GET, headers, empty(), STEP_TIMEOUT)
        .await
        .unwrap_or_else(|err| panic!("GET {uri}: {err}"))
}
