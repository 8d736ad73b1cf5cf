//! The body of a response sent to a client: streamed from a worker, or made here.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

use crate::endpoint::InFlight;

pin_project! {
    #[project = Proj]
    pub enum ProxyBody {
        /// Streams the worker's response; the worker counts this request as in flight
        /// until the body is done or dropped.
        Upstream { #[pin] inner: Incoming, guard: Option<InFlight> },
        /// A short answer of our own (errors).
        Local { data: Option<Bytes> },
    }
}

impl ProxyBody {
    pub fn upstream(inner: Incoming, guard: InFlight) -> ProxyBody {
        ProxyBody::Upstream {
            inner,
            guard: Some(guard),
        }
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
            Proj::Upstream { inner, guard } => {
                let polled = inner.poll_frame(cx);
                if let Poll::Ready(None) | Poll::Ready(Some(Err(_))) = polled {
                    // Done: the worker is free for another request even if the client
                    // connection lingers.
                    guard.take();
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
