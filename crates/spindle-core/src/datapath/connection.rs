//! One client connection: each request head is parsed here, routed, rewritten for the
//! worker and run as an [`exchange`], until the client or the server ends the
//! connection. The public listener and the mesh differ only in their [`Route`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Buf;
use tokio::sync::watch;

use super::app::App;
use super::client::{self, Client};
use super::exchange::{self, ClientConn, Next, Request};
use super::http1::{self, Forwarding, Limits, Rejection, RequestHead};
use super::reply::{self, Reply};

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
        answer_within: Option<Duration>,
    },
    /// An answer of our own.
    Reply(Reply),
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
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            limits: Limits::default(),
            proto: "http",
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
    mut shutdown: watch::Receiver<bool>,
) {
    let mut client = ClientConn::new(io, peer);
    let mut req = Request::default();
    loop {
        let dispatch = match next_request(&mut client, &mut req, route, settings, &mut shutdown)
            .await
        {
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
        if next == Next::Close || *shutdown.borrow() {
            break;
        }
    }
    client.io.shutdown();
}

/// Reads until a whole request head is in, then fills `req` with it (and the head the
/// worker gets) and says where it goes. None when the connection ends first.
async fn next_request(
    client: &mut ClientConn,
    req: &mut Request,
    route: &dyn Route,
    settings: &Settings,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Result<Dispatch, Rejection>> {
    loop {
        if !client.inbuf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; http1::MAX_HEADERS];
            match http1::parse_request(&client.inbuf, &mut headers, &settings.limits) {
                Ok(Some(head)) => {
                    req.fill(&head);
                    let dispatch = route.route(&head);
                    if let Dispatch::App { strip, .. } = &dispatch {
                        req.head.clear();
                        let forwarding = Forwarding {
                            peer: client.peer,
                            strip_prefix: strip.as_deref(),
                            proto: settings.proto,
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
            // Idle between requests: a shutdown closes the connection now.
            tokio::select! {
                read = client::read(&*client.io, &mut client.inbuf) => read,
                _ = crate::ingress::stopped(shutdown) => return None,
            }
        } else {
            client::read(&*client.io, &mut client.inbuf).await
        };
        match read {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
