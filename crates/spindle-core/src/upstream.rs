//! Keep-alive HTTP/1.1 connections to one worker's private Unix socket.
//!
//! Each connection is a hyper client connection with its own driver task; idle ones wait
//! on a LIFO stack, so the busiest few stay warm and the rest age out. This replaced
//! hyper-util's general-purpose pool, whose URI-keyed checkout and one spawned task per
//! request to return a connection cost more than everything else the proxy does on a
//! tiny response (see docs/benchmarks.md).

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use pin_project_lite::pin_project;
use tokio::net::UnixStream;

/// Node closes idle keep-alive connections after its `keepAliveTimeout`; the worker shim
/// turns that off for the private socket, and this bounds how long idle ones are kept here.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// One keep-alive connection, lent to one request at a time.
pub type Conn = SendRequest<RequestBody>;

pub struct Upstream {
    socket: PathBuf,
    /// Most recently used last; the oldest are pruned from the front.
    idle: Mutex<Vec<(Conn, Instant)>>,
}

impl Upstream {
    pub fn new(socket: PathBuf) -> Upstream {
        Upstream {
            socket,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `req` on an idle connection (or a new one) and returns the response head with
    /// the connection, which goes back with [`Upstream::put_back`] once the body is read.
    pub async fn send(
        &self,
        mut req: Request<RequestBody>,
    ) -> Result<(Response<Incoming>, Conn), String> {
        if let Some(mut conn) = self.checkout() {
            match conn.try_send_request(req).await {
                Ok(res) => return Ok((res, conn)),
                Err(mut err) => match err.take_message() {
                    // The worker closed this idle connection before the request went out
                    // (it is draining or gone): nothing was sent, so a fresh one is safe.
                    Some(unsent) => req = unsent,
                    None => return Err(error_chain(err.error())),
                },
            }
        }
        let mut conn = self.connect().await?;
        match conn.send_request(req).await {
            Ok(res) => Ok((res, conn)),
            Err(err) => Err(error_chain(&err)),
        }
    }

    /// Returns a connection whose response has been read to its end.
    pub fn put_back(self: &Arc<Self>, mut conn: Conn) {
        if conn.is_ready() {
            self.store(conn);
        } else if !conn.is_closed() {
            // The driver has not yet taken in the end of the response; it will in a moment.
            let pool = self.clone();
            tokio::spawn(async move {
                if conn.ready().await.is_ok() {
                    pool.store(conn);
                }
            });
        }
    }

    fn store(&self, conn: Conn) {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let stale = idle
            .iter()
            .take_while(|(_, since)| now.duration_since(*since) > POOL_IDLE_TIMEOUT)
            .count();
        idle.drain(..stale);
        idle.push((conn, now));
    }

    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((conn, _)) = idle.pop() {
            if conn.is_ready() {
                return Some(conn);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Conn, String> {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|err| format!("cannot connect to {}: {err}", self.socket.display()))?;
        let (conn, driver) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| error_chain(&err))?;
        tokio::spawn(async move {
            if let Err(err) = driver.with_upgrades().await {
                tracing::debug!(error = %err, "worker connection ended with an error");
            }
        });
        Ok(conn)
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.lock().unwrap().len()
    }
}

pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pin_project! {
    /// A request body on its way to a worker: the client's stream, or nothing (which, unlike
    /// a stream, can be sent again when a request is retried on another worker).
    #[project = RequestBodyProj]
    pub enum RequestBody {
        Streamed { #[pin] inner: Incoming },
        Empty,
        /// A body held in memory (requests injected through the management API).
        Buffered { data: Option<Bytes> },
    }
}

impl RequestBody {
    /// A copy to send again on another worker, when this body can be replayed.
    fn replayable(&self) -> Option<RequestBody> {
        match self {
            RequestBody::Streamed { inner } if inner.is_end_stream() => Some(RequestBody::Empty),
            RequestBody::Streamed { .. } => None,
            RequestBody::Empty => Some(RequestBody::Empty),
            RequestBody::Buffered { data } => Some(RequestBody::Buffered { data: data.clone() }),
        }
    }

    /// Replaces a finished client stream with `Empty`, and returns a replay copy if any.
    pub fn prepare(self) -> (RequestBody, Option<RequestBody>) {
        let body = match self {
            RequestBody::Streamed { inner } if inner.is_end_stream() => RequestBody::Empty,
            other => other,
        };
        let replay = body.replayable();
        (body, replay)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.project() {
            RequestBodyProj::Streamed { inner } => inner.poll_frame(cx),
            RequestBodyProj::Empty => Poll::Ready(None),
            RequestBodyProj::Buffered { data } => {
                Poll::Ready(data.take().map(|d| Ok(Frame::data(d))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Streamed { inner } => inner.is_end_stream(),
            RequestBody::Empty => true,
            RequestBody::Buffered { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Streamed { inner } => inner.size_hint(),
            RequestBody::Empty => SizeHint::with_exact(0),
            RequestBody::Buffered { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::BodyExt;
    use hyper::server::conn::http1 as server;
    use hyper::service::service_fn;
    use tokio::net::UnixListener;

    use super::*;

    /// Removes a test's socket directory when the test ends, passed or not.
    struct Cleanup(PathBuf);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A worker stand-in on a Unix socket that answers "ok" and counts its connections;
    /// with `keep_alive` false it closes each connection after one answer.
    fn worker(name: &str, keep_alive: bool) -> (PathBuf, Arc<AtomicUsize>, Cleanup) {
        let dir =
            std::env::temp_dir().join(format!("spindle-upstream-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let service = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
                tokio::spawn(
                    server::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (path, accepted, Cleanup(dir))
    }

    fn get() -> Request<RequestBody> {
        Request::get("/")
            .header("host", "worker")
            .body(RequestBody::Empty)
            .unwrap()
    }

    /// Sends one request, reads the answer to its end and returns the connection.
    async fn round_trip(pool: &Arc<Upstream>) {
        let (res, conn) = pool.send(get()).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "ok");
        pool.put_back(conn);
    }

    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn a_connection_is_reused_once_its_answer_is_read() {
        let (socket, accepted, _cleanup) = worker("reuse", true);
        let pool = Arc::new(Upstream::new(socket));
        for _ in 0..5 {
            round_trip(&pool).await;
            until("the connection back in the pool", || pool.idle_count() == 1).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_connection_the_worker_closed_is_replaced_without_failing_a_request() {
        let (socket, accepted, _cleanup) = worker("closed", false);
        let pool = Arc::new(Upstream::new(socket));
        for _ in 0..5 {
            round_trip(&pool).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 5);
        assert_eq!(pool.idle_count(), 0, "closed connections are not kept");
    }

    #[tokio::test]
    async fn a_missing_socket_is_an_error_naming_it() {
        let pool = Upstream::new(PathBuf::from("/nonexistent/spindle/w.sock"));
        let err = pool.send(get()).await.unwrap_err();
        assert!(err.contains("/nonexistent/spindle/w.sock"), "{err}");
    }
}
