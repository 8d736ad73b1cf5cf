//! One request's trip: claim a Ready worker (waiting in the app's queue if all are busy),
//! forward over its pooled socket connection, stream the answer back, and retry once on
//! another worker when the first died before answering a request that is safe to repeat.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use tokio::sync::watch;
use tokio::time::Instant;

use super::body::ProxyBody;
use super::headers;
use super::reply;
use crate::capacity::Capacity;
use crate::endpoint::InFlight;
use crate::metrics::HttpMetrics;
use crate::routes::{NoWorker, Routes};
use crate::upstream::{Conn, RequestBody};
use crate::WorkerId;

/// What every connection of the ingress shares.
pub struct Proxy {
    /// The app that receives public traffic.
    pub app: Arc<str>,
    pub routes: watch::Receiver<Arc<Routes>>,
    pub capacity: Arc<Capacity>,
    pub max_in_flight: usize,
    pub queue_timeout: Duration,
    /// What this app's traffic looked like, for /metrics.
    pub metrics: Arc<HttpMetrics>,
}

impl Proxy {
    pub async fn forward(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<ProxyBody> {
        self.forward_body(req.map(|inner| RequestBody::Streamed { inner }), peer)
            .await
    }

    /// Forwards a request whose body is already a [`RequestBody`] (the management API's
    /// injected requests hold theirs in memory).
    pub async fn forward_body(
        &self,
        req: Request<RequestBody>,
        peer: SocketAddr,
    ) -> Response<ProxyBody> {
        let arrived = Instant::now();
        let method = req.method().clone();
        let res = self.forward_inner(req, peer, arrived).await;
        self.metrics
            .record(&method, res.status(), arrived.elapsed());
        res
    }

    async fn forward_inner(
        &self,
        mut req: Request<RequestBody>,
        peer: SocketAddr,
        arrived: Instant,
    ) -> Response<ProxyBody> {
        let uri = req.uri().clone();
        let claim = match self
            .claim(None, arrived, uri.path(), arrived + self.queue_timeout)
            .await
        {
            Ok(claim) => claim,
            Err(reply) => return reply,
        };
        let upgrade = headers::is_upgrade(req.headers());
        let client_side = upgrade.then(|| hyper::upgrade::on(&mut req));

        let (mut parts, body) = req.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers, upgrade);
        headers::add_forwarded(&mut parts.headers, peer);
        to_origin_form(&mut parts);
        parts.version = Version::HTTP_11;
        // Kept only when the request can be sent again as it is: a body held in memory or none.
        let (body, replay_body) = body.prepare();
        let replay = replay_body
            .filter(|_| is_idempotent(&parts.method) && !upgrade)
            .map(|b| (clone_parts(&parts), b));

        let sent = Instant::now();
        let (claim, result) = match self.send(claim, Request::from_parts(parts, body)).await {
            (claim, Err(err)) if replay.is_some() => {
                let first = claim.endpoint().id.clone();
                drop(claim);
                // Debug only: a crash under load fails dozens of requests at once, and the
                // supervisor already logs the crash itself.
                tracing::debug!(worker = %first, error = err, "worker failed before answering; retrying on another worker");
                let Some((parts, body)) = replay else {
                    unreachable!()
                };
                self.metrics.retried();
                match self
                    .claim(
                        Some(&first),
                        arrived,
                        uri.path(),
                        Instant::now() + self.queue_timeout,
                    )
                    .await
                {
                    Ok(claim) => self.send(claim, Request::from_parts(parts, body)).await,
                    Err(reply) => return reply,
                }
            }
            other => other,
        };
        let (mut claim, result) = (claim, result);
        let (mut res, conn) = match result {
            Ok(answer) => {
                claim.answered();
                // Costs only order the queue, so they are learnt only while it holds
                // someone: an app that never queues pays no lock per request for them.
                if self.capacity.waiting() > 0 {
                    self.capacity.observe_cost(uri.path(), sent.elapsed());
                }
                answer
            }
            Err(cause) => {
                let worker = claim.endpoint().id.to_string();
                return reply::worker_failed(&self.app, &worker, &cause);
            }
        };

        if res.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_side) = client_side {
                let worker_side = hyper::upgrade::on(&mut res);
                // A long-lived tunnel is not a request in flight: it must not make the
                // worker look busy.
                drop(claim);
                tokio::spawn(tunnel(client_side, worker_side));
                return res.map(|_| ProxyBody::empty());
            }
        }
        headers::strip_hop_by_hop(res.headers_mut(), false);
        res.map(|body| ProxyBody::upstream(body, claim, conn))
    }

    async fn send(
        &self,
        claim: InFlight,
        req: Request<RequestBody>,
    ) -> (InFlight, Result<(Response<Incoming>, Conn), String>) {
        let result = claim.endpoint().upstream.send(req).await;
        if let Err(cause) = &result {
            tracing::debug!(worker = %claim.endpoint().id, error = cause, "request failed on worker");
        }
        (claim, result)
    }

    /// A slot on a Ready worker, waiting in the app's queue (until `deadline`) while every
    /// worker is busy or none is Ready yet. The queue's order is by arrival and the
    /// expected cost of requests to `path` (see [`Capacity`]).
    async fn claim(
        &self,
        exclude: Option<&WorkerId>,
        arrived: Instant,
        path: &str,
        deadline: Instant,
    ) -> Result<InFlight, Response<ProxyBody>> {
        // The common case: nobody is queued and a worker has room. Registering for a
        // wake-up takes the Notify's lock, so it is done only when this look fails.
        let queued_behind = self.capacity.waiting() > 0;
        if !queued_behind {
            if let Ok(claim) = self.routes.borrow().claim(
                &self.app,
                exclude,
                self.max_in_flight,
                self.capacity.next_start(),
            ) {
                return Ok(claim);
            }
        }
        let mut routes = self.routes.clone();
        // While others wait, a newcomer joins the queue instead of taking the slot a
        // woken waiter is about to claim. Letting it barge in starved queued requests
        // for seconds under CPU-bound load (docs/benchmarks.md).
        let mut look = !queued_behind;
        let mut why = NoWorker::AllBusy;
        // Queued before looking, so a release between the look and the wait is not lost.
        let ticket = self.capacity.enqueue(arrived.into_std(), path);
        loop {
            if look {
                let outcome = routes.borrow_and_update().claim(
                    &self.app,
                    exclude,
                    self.max_in_flight,
                    self.capacity.next_start(),
                );
                match outcome {
                    Ok(claim) => {
                        drop(ticket);
                        return Ok(claim);
                    }
                    Err(NoWorker::Failed(reason)) => {
                        self.metrics.rejected("app_failed");
                        return Err(reply::app_failed(&self.app, &reason));
                    }
                    Err(NoWorker::Unknown) => {
                        self.metrics.rejected("no_ready_worker");
                        return Err(reply::no_worker(&self.app));
                    }
                    Err(no) => why = no,
                }
            }
            look = true;
            tokio::select! {
                _ = ticket.notified() => {}
                changed = routes.changed() => {
                    if changed.is_err() {
                        return Err(reply::no_worker(&self.app));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(match why {
                        NoWorker::AllBusy => {
                            self.metrics.rejected("overloaded");
                            reply::overloaded(&self.app)
                        }
                        _ => {
                            self.metrics.rejected("no_ready_worker");
                            reply::no_worker(&self.app)
                        }
                    });
                }
            }
        }
    }
}

/// RFC 9110 §9.2.2: repeating these has the same effect as sending them once.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

fn clone_parts(parts: &Parts) -> Parts {
    let mut req = Request::new(());
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    req.into_parts().0
}

/// Workers get the request target in origin form (`/path?query`) and a `Host` header,
/// which Node requires of HTTP/1.1 requests, even when the client sent absolute form or
/// spoke HTTP/1.0 without one.
fn to_origin_form(parts: &mut Parts) {
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        if !parts.headers.contains_key(header::HOST) {
            if let Some(host) = parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            {
                parts.headers.insert(header::HOST, host);
            }
        }
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        parts.uri = Uri::from(path);
    }
    if !parts.headers.contains_key(header::HOST) {
        parts
            .headers
            .insert(header::HOST, HeaderValue::from_static("localhost"));
    }
}

/// Copies bytes both ways after a protocol switch (WebSocket) until either side closes.
async fn tunnel(client: hyper::upgrade::OnUpgrade, worker: hyper::upgrade::OnUpgrade) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, host: Option<&str>) -> Parts {
        let mut req = Request::builder().uri(uri);
        if let Some(host) = host {
            req = req.header("host", host);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn origin_form_keeps_path_query_and_host() {
        let mut p = parts("/a/b?x=1&y=%20", Some("app.test"));
        to_origin_form(&mut p);
        assert_eq!(p.uri.to_string(), "/a/b?x=1&y=%20");
        assert_eq!(p.headers["host"], "app.test");

        let mut p = parts("http://example.test/z?q", None);
        to_origin_form(&mut p);
        assert_eq!(p.uri.to_string(), "/z?q");
        assert_eq!(p.headers["host"], "example.test");

        let mut p = parts("/", None);
        to_origin_form(&mut p);
        assert_eq!(p.headers["host"], "localhost");
    }

    #[test]
    fn only_safe_to_repeat_methods_are_retried() {
        for m in [
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PUT,
            Method::DELETE,
        ] {
            assert!(is_idempotent(&m), "{m}");
        }
        for m in [Method::POST, Method::PATCH, Method::CONNECT] {
            assert!(!is_idempotent(&m), "{m}");
        }
    }
}
