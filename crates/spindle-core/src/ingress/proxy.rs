//! One request's trip: pick a Ready worker, forward over its pooled socket connection,
//! stream the answer back.

use std::net::SocketAddr;
use std::sync::Arc;

use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use tokio::sync::watch;

use super::body::ProxyBody;
use super::headers;
use super::reply;
use crate::endpoint::InFlight;
use crate::routes::Routes;

/// What every connection of the ingress shares.
pub struct Proxy {
    /// The app that receives public traffic.
    pub app: Arc<str>,
    pub routes: watch::Receiver<Arc<Routes>>,
}

impl Proxy {
    pub async fn forward(
        &self,
        mut req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<ProxyBody> {
        let endpoint = {
            let routes = self.routes.borrow();
            routes.pick(&self.app)
        };
        let Some(endpoint) = endpoint else {
            return reply::no_worker(&self.app);
        };
        let guard = endpoint.begin();
        let upgrade = headers::is_upgrade(req.headers());
        let client_side = upgrade.then(|| hyper::upgrade::on(&mut req));

        let (mut parts, body) = req.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers, upgrade);
        headers::add_forwarded(&mut parts.headers, peer);
        parts.uri = worker_uri(parts.uri);
        parts.version = Version::HTTP_11;

        let mut res = match endpoint
            .client
            .request(Request::from_parts(parts, body))
            .await
        {
            Ok(res) => res,
            Err(err) => {
                let cause = error_chain(&err);
                tracing::warn!(worker = %endpoint.id, error = cause, "request failed on worker");
                return reply::worker_failed(&self.app, &endpoint.id.to_string(), &cause);
            }
        };

        if res.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_side) = client_side {
                let worker_side = hyper::upgrade::on(&mut res);
                tokio::spawn(tunnel(client_side, worker_side, guard));
                return res.map(|_| ProxyBody::empty());
            }
        }
        headers::strip_hop_by_hop(res.headers_mut(), false);
        res.map(|body| ProxyBody::upstream(body, guard))
    }
}

/// The pooled client wants an absolute URI; the socket it connects to is fixed, so the
/// authority is a placeholder and the app still sees the client's `Host` header.
fn worker_uri(uri: Uri) -> Uri {
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    Uri::builder()
        .scheme("http")
        .authority("worker")
        .path_and_query(path)
        .build()
        .expect("scheme, authority and a parsed path make a valid URI")
}

/// Copies bytes both ways after a protocol switch (WebSocket) until either side closes.
async fn tunnel(
    client: hyper::upgrade::OnUpgrade,
    worker: hyper::upgrade::OnUpgrade,
    guard: InFlight,
) {
    // A long-lived tunnel is not a request in flight: it must not make the worker look busy.
    drop(guard);
    let (client, worker) = match tokio::try_join!(client, worker) {
        Ok(pair) => pair,
        Err(err) => {
            tracing::debug!(error = %err, "upgrade did not complete");
            return;
        }
    };
    let mut client = hyper_util::rt::TokioIo::new(client);
    let mut worker = hyper_util::rt::TokioIo::new(worker);
    if let Err(err) = tokio::io::copy_bidirectional(&mut client, &mut worker).await {
        tracing::debug!(error = %err, "upgraded connection ended with an error");
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_uri_keeps_path_and_query() {
        let uri: Uri = "/a/b?x=1&y=%20".parse().unwrap();
        assert_eq!(worker_uri(uri).to_string(), "http://worker/a/b?x=1&y=%20");
        let uri: Uri = "http://example.test/z".parse().unwrap();
        assert_eq!(worker_uri(uri).to_string(), "http://worker/z");
    }
}
