//! The body of a response sent to a client: streamed from a worker, or made here.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

use crate::endpoint::InFlight;
use crate::upstream::Conn;

pin_project! {
    #[project = Proj]
    pub enum ProxyBody {
        /// Streams the worker's response; the worker counts this request as in flight
        /// until the body is done or dropped, and the connection is reused only when the
        /// body was read to its end.
        Upstream { #[pin] inner: Incoming, lease: Lease },
        /// A short answer of our own (errors).
        Local { data: Option<Bytes> },
    }
}

impl ProxyBody {
    pub fn upstream(inner: Incoming, guard: InFlight, conn: Conn) -> ProxyBody {
        let mut lease = Lease {
            guard: Some(guard),
            conn: Some(conn),
        };
        // hyper never polls a body that is empty from the start (HEAD, 204, 304,
        // `content-length: 0`).
        if inner.is_end_stream() {
            lease.complete();
        }
        ProxyBody::Upstream { inner, lease }
    }

    pub fn local(data: impl Into<Bytes>) -> ProxyBody {
        ProxyBody::Local {
            data: Some(data.into()),
        }
    }

    pub fn empty() -> ProxyBody {
        ProxyBody::Local { data: None }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.project() {
            Proj::Upstream { mut inner, lease } => {
                let polled = inner.as_mut().poll_frame(cx);
                match &polled {
                    // hyper stops polling once `is_end_stream` says the last frame came.
                    Poll::Ready(None) => lease.complete(),
                    Poll::Ready(Some(Ok(_))) if inner.is_end_stream() => lease.complete(),
                    Poll::Ready(Some(Err(_))) => lease.abandon(),
                    _ => {}
                }
                polled
            }
            Proj::Local { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Upstream { inner, .. } => inner.is_end_stream(),
            ProxyBody::Local { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Upstream { inner, .. } => inner.size_hint(),
            ProxyBody::Local { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

/// A worker's slot and connection, held while its response streams to the client.
pub struct Lease {
    guard: Option<InFlight>,
    conn: Option<Conn>,
}

impl Lease {
    /// The response was read to its end: the connection can carry another request, and
    /// the worker is free for one even if the client connection lingers.
    fn complete(&mut self) {
        if let (Some(conn), Some(guard)) = (self.conn.take(), self.guard.as_ref()) {
            // Back in the pool before the slot is released, so a request waiting for that
            // slot finds the connection idle.
            guard.endpoint().upstream.put_back(conn);
        }
        self.guard.take();
    }

    /// The response broke off: its connection is in an unknown state and is closed.
    fn abandon(&mut self) {
        self.conn.take();
        self.guard.take();
    }
}
