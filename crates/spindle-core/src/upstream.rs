//! Pooled HTTP/1.1 keep-alive connections to one worker's private Unix socket.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use pin_project_lite::pin_project;
use tokio::net::UnixStream;

/// Node closes idle keep-alive connections after its `keepAliveTimeout`; the worker shim
/// turns that off for the private socket, and this bounds how long idle ones are kept here.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub type UpstreamClient = Client<UnixConnector, RequestBody>;

/// A client whose every connection goes to `socket`, whatever the request's URI says.
pub fn client(socket: PathBuf) -> UpstreamClient {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .build(UnixConnector {
            socket: Arc::new(socket),
        })
}

#[derive(Clone)]
pub struct UnixConnector {
    socket: Arc<PathBuf>,
}

impl tower_service::Service<Uri> for UnixConnector {
    type Response = UnixIo;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<UnixIo>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let socket = self.socket.clone();
        Box::pin(async move { Ok(UnixIo(TokioIo::new(UnixStream::connect(&*socket).await?))) })
    }
}

/// A Unix stream as hyper's client wants it.
pub struct UnixIo(TokioIo<UnixStream>);

impl Connection for UnixIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for UnixIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for UnixIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
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
