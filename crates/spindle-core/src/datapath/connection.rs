//! One client connection: each request head is parsed here, routed, rewritten for the
//! worker and run as an [`exchange`], until the client or the server ends the
//! connection. The public listener and the mesh differ only in their [`Route`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Buf;
use tokio::sync::watch;
use tokio::time::Instant;

use super::app::App;
use super::client::{self, Client};
use super::exchange::{self, ClientConn, Next, Request};
use super::http1::{self, Forwarding, Limits, Rejection, RequestHead};
use super::reply::{self, Reply};
use super::watchdog::Timeouts;
use spindle_config::TrustProxy;

/// Where requests go.
pub trait Route: Send + Sync + 'static {
    fn route(&self, head: &RequestHead<'_, '_>) -> Dispatch;
}

pub enum Dispatch {
    App {
        app: Arc<App>,
        /// A path prefix the app is mounted under, removed before it sees the path.
        strip: Option<Arc<str>>,
        /// How long the app may take to send its response head.
        answer_within: Option<AnswerWithin>,
    },
    /// An answer of our own.
    Reply(Reply),
}

/// A bound on the wait for a response head, and the key that set it (for the 504).
#[derive(Clone, Copy, Debug)]
pub struct AnswerWithin {
    pub after: Duration,
    pub key: &'static str,
}

/// Every request goes to one app (the management API's injected requests).
pub struct OneApp(pub Arc<App>);

impl Route for OneApp {
    fn route(&self, _: &RequestHead<'_, '_>) -> Dispatch {
        Dispatch::App {
            app: self.0.clone(),
            strip: None,
            answer_within: None,
        }
    }
}

/// What every connection of a listener shares.
pub struct Settings {
    pub limits: Limits,
    /// `X-Forwarded-Proto` for the apps.
    pub proto: &'static str,
    pub timeouts: Timeouts,
    /// The largest request body passed on (`server.maxBodySize`); larger ones get 413.
    pub max_body: Option<u64>,
    pub trust: TrustProxy,
    /// Traces (`telemetry`), when on.
    pub telemetry: Option<Arc<crate::telemetry::Telemetry>>,
    /// The app calling, on a mesh socket; `None` on the public port.
    pub caller: Option<Arc<str>>,
    /// HTTP/2 is served too (`server.http2`): h2c by prior knowledge on a plain port.
    pub http2: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            limits: Limits::default(),
            proto: "http",
            timeouts: Timeouts::default(),
            max_body: None,
            trust: TrustProxy::Nobody,
            telemetry: None,
            caller: None,
            http2: false,
        }
    }
}

/// Serves one connection until the client closes it, a request asks to, or `shutdown`
/// turns true (an idle connection closes at once, a busy one after its current answer).
pub async fn serve(
    io: Client,
    peer: SocketAddr,
    route: &dyn Route,
    settings: &Settings,
    shutdown: watch::Receiver<bool>,
) {
    serve_after(io, peer, route, settings, shutdown, &[]).await
}

/// [`serve`], for a connection whose first bytes (`read`) were already read from it.
pub async fn serve_after(
    io: Client,
    peer: SocketAddr,
    route: &dyn Route,
    settings: &Settings,
    mut shutdown: watch::Receiver<bool>,
    read: &[u8],
) {
    let mut client = ClientConn::new(io, peer, settings.timeouts, settings.max_body);
    client.inbuf.extend_from_slice(read);
    let mut req = Request::default();
    let mut served = false;
    loop {
        let next = next_request(
            &mut client,
            &mut req,
            route,
            settings,
            &mut shutdown,
            served,
        );
        let dispatch = match next.await {
            Some(Ok(dispatch)) => dispatch,
            Some(Err(rejection)) => {
                tracing::debug!(%peer, status = rejection.status, reason = rejection.reason, "request refused");
                let mut out = Vec::with_capacity(256);
                reply::rejected(rejection.status, rejection.reason).write(true, false, &mut out);
                let _ = client::write_all(&*client.io, &out).await;
                break;
            }
            None => break,
        };
        let closing = *shutdown.borrow();
        let next = match dispatch {
            Dispatch::App {
                app, answer_within, ..
            } => exchange::run(&mut client, &req, &app, answer_within, closing).await,
            Dispatch::Reply(reply) => exchange::answer(&mut client, &req, &reply, closing).await,
        };
        if let Some(spans) = client.trace.take() {
            spans.end(super::answer::lock(&client.answer).status);
        }
        if next == Next::Close || *shutdown.borrow() {
            break;
        }
        served = true;
    }
    client.io.shutdown();
}

/// Opens the spans of a request to `app` and writes the trace lines its worker gets into
/// `lines`.
fn trace(
    telemetry: &crate::telemetry::Telemetry,
    settings: &Settings,
    app: &App,
    head: &RequestHead<'_, '_>,
    req: &Request,
    lines: &mut Vec<u8>,
) -> Option<crate::telemetry::RequestSpans> {
    use crate::telemetry::{Hop, Incoming, Request as Traced};
    lines.clear();
    let hop = match &settings.caller {
        Some(caller) => Hop::Mesh { caller },
        None => Hop::Public,
    };
    let traced = Traced {
        hop,
        app: &app.id,
        method: &req.method,
        target: head.target,
        path: &req.path,
        incoming: Incoming::of(head.headers),
    };
    telemetry.begin(&traced, lines)
}

/// Reads until a whole request head is in, then fills `req` with it (and the head the
/// worker gets) and says where it goes. None when the connection ends first, or stays
/// idle past its timeout; a 408 when a head begun does not arrive within the head
/// timeout. `served`: this connection served a request before (keep-alive).
async fn next_request(
    client: &mut ClientConn,
    req: &mut Request,
    route: &dyn Route,
    settings: &Settings,
    shutdown: &mut watch::Receiver<bool>,
    served: bool,
) -> Option<Result<Dispatch, Rejection>> {
    let waiting_since = Instant::now();
    let idle_until = waiting_since + client.timeouts.idle(served);
    let head_until = waiting_since + client.timeouts.head;
    loop {
        if !client.inbuf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; http1::MAX_HEADERS];
            match http1::parse_request(&client.inbuf, &mut headers, &settings.limits) {
                Ok(Some(head)) => {
                    if let (http1::Framing::Length(n), Some(max)) =
                        (head.framing, settings.max_body)
                    {
                        if n > max {
                            return Some(Err(Rejection::TOO_LARGE));
                        }
                    }
                    req.fill(&head);
                    let dispatch = route.route(&head);
                    if let Dispatch::App { app, strip, .. } = &dispatch {
                        req.head.clear();
                        if let Some(telemetry) = &settings.telemetry {
                            client.trace = trace(
                                telemetry,
                                settings,
                                app,
                                &head,
                                req,
                                &mut client.trace_lines,
                            );
                        }
                        let forwarding = Forwarding {
                            peer: client.peer,
                            strip_prefix: strip.as_deref(),
                            proto: settings.proto,
                            trust: &settings.trust,
                            trace: client.trace.as_ref().map(|_| &client.trace_lines[..]),
                        };
                        http1::write_forwarded(&head, &forwarding, &mut req.head);
                    }
                    let len = head.head_len;
                    client.inbuf.advance(len);
                    return Some(Ok(dispatch));
                }
                Ok(None) => {}
                Err(rejection) => return Some(Err(rejection)),
            }
        }
        let read = if client.inbuf.is_empty() {
            // Idle between requests: a shutdown closes the connection now, and so does
            // the idle timeout, without a word (the client may be about to reuse it,
            // and sees the close as Node's own keep-alive timeout).
            tokio::select! {
                read = client::read(&*client.io, &mut client.inbuf) => read,
                _ = crate::listener::stopped(shutdown) => return None,
                _ = client.watchdog.until(idle_until) => return None,
            }
        } else {
            tokio::select! {
                read = client::read(&*client.io, &mut client.inbuf) => read,
                _ = client.watchdog.until(head_until) => return Some(Err(Rejection::HEAD_TIMEOUT)),
            }
        };
        match read {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
