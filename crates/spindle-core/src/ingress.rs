//! The public listener: each client connection is served by the data path, its requests
//! sent to the app its path is routed to (the entrypoint unless `server.routes` says
//! otherwise).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use crate::datapath::connection::{self, AnswerWithin, Dispatch, Route, Settings};
use crate::datapath::http1::RequestHead;
use crate::datapath::http2::{self, rewind::Rewind};
use crate::datapath::prefixes::PrefixRoutes;
use crate::datapath::watchdog::Timeouts;
use crate::listener::stopped;
use crate::tls::{self, Accepted, Refused, Tls};

/// Public requests go by path prefix.
pub struct PublicRoute(pub Arc<PrefixRoutes>);

impl Route for PublicRoute {
    fn route(&self, head: &RequestHead<'_, '_>) -> Dispatch {
        let (app, strip) = self.0.route(head.path());
        let strip = if app.keeps_prefix { None } else { strip };
        let answer_within = app.response_timeout.map(|after| AnswerWithin {
            after,
            key: "responseTimeout",
        });
        Dispatch::App {
            app,
            strip,
            answer_within,
        }
    }
}

/// How the public port treats its clients (`server`'s limits, timeouts and trust).
pub struct Edge {
    pub settings: Settings,
    pub max_connections: usize,
}

impl Edge {
    pub fn of(server: &spindle_config::ServerConfig) -> Edge {
        let edge = &server.edge;
        Edge {
            settings: Settings {
                timeouts: Timeouts {
                    head: edge.headers_timeout,
                    keep_alive: edge.keep_alive_timeout,
                    body: edge.body_timeout,
                },
                max_body: edge.max_body_size,
                trust: edge.trust_proxy.clone(),
                http2: server.http2,
                ..Settings::default()
            },
            max_connections: edge.max_connections as usize,
        }
    }
}

/// Accepts connections until `shutdown` turns true, then stops accepting (new
/// connections are refused), lets each open connection finish the request it is on,
/// and returns when all are closed or `deadline` passed (returning false then). With
/// `max_connections` open, the next one is not accepted until one closes: it waits in
/// the kernel's backlog, and the open ones are not disturbed.
pub async fn serve(
    listener: TcpListener,
    route: Arc<PublicRoute>,
    tls: Option<Arc<Tls>>,
    settings: Settings,
    max_connections: usize,
    shutdown: watch::Receiver<bool>,
    deadline: Duration,
) -> bool {
    let settings = Arc::new(settings);
    let listener = Limited {
        listener,
        room: Arc::new(Semaphore::new(max_connections.max(1))),
    };
    // Each connection task holds a sender; when all are dropped, every connection is done.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let each = |(stream, peer, permit): (TcpStream, SocketAddr, OwnedSemaphorePermit)| {
        let _ = stream.set_nodelay(true);
        let route = route.clone();
        let settings = settings.clone();
        let shutdown = shutdown.clone();
        let open = open_tx.clone();
        let tls = tls.clone();
        // The handshake runs in the connection's own task, holding its place
        // against maxConnections.
        tokio::spawn(async move {
            match tls {
                Some(tls) => serve_tls(&tls, stream, peer, route, settings, shutdown).await,
                None if settings.http2 => {
                    serve_cleartext(stream, peer, route, settings, shutdown).await
                }
                None => {
                    connection::serve(Arc::new(stream), peer, &*route, &settings, shutdown).await
                }
            }
            drop((open, permit));
        });
    };
    crate::listener::run(&listener, shutdown.clone(), "public", each).await;
    drop(listener);
    drop(open_tx);
    tokio::time::timeout(deadline, open_rx.recv()).await.is_ok()
}

/// The public port with room for `server.maxConnections`: a connection is accepted only
/// once there is room for it, each holding its place until it closes.
struct Limited {
    listener: TcpListener,
    room: Arc<Semaphore>,
}

impl crate::listener::Listener for Limited {
    type Conn = (TcpStream, SocketAddr, OwnedSemaphorePermit);
    async fn accept(&self) -> std::io::Result<Self::Conn> {
        let permit = self
            .room
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, peer) = self.listener.accept().await?;
        Ok((stream, peer, permit))
    }
}

/// One TLS connection: its handshake (within the head timeout), then its requests in
/// the protocol ALPN chose.
async fn serve_tls(
    tls: &Tls,
    stream: TcpStream,
    peer: SocketAddr,
    route: Arc<PublicRoute>,
    settings: Arc<Settings>,
    mut shutdown: watch::Receiver<bool>,
) {
    match tls
        .handshake(stream, settings.timeouts.head, &mut shutdown)
        .await
    {
        Ok(Accepted::Http1(client)) => {
            connection::serve(Arc::new(client), peer, &*route, &settings, shutdown).await
        }
        Ok(Accepted::Http2(stream)) => http2::serve(stream, peer, route, settings, shutdown).await,
        Err(Refused::PlainHttp(tcp)) => {
            tracing::debug!(%peer, "plain HTTP on the TLS port refused");
            tls::refuse_plain_http(tcp).await;
        }
        // Scanners and clients that distrust the certificate fail here all the time.
        Err(why) => tracing::debug!(%peer, ?why, "TLS handshake failed"),
    }
}

/// A plain connection with `server.http2` on: HTTP/2 if it begins with the HTTP/2
/// preface (h2c by prior knowledge), else HTTP/1.1. Its first bytes are read to tell
/// (within the head timeout, as a request head would be) and then served as they came.
async fn serve_cleartext(
    mut stream: TcpStream,
    peer: SocketAddr,
    route: Arc<PublicRoute>,
    settings: Arc<Settings>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut first = [0u8; http2::PREFACE.len()];
    let mut len = 0;
    let sniff = async {
        // Until the bytes so far leave the preface, or are all of it.
        while len < first.len() && first[..len] == http2::PREFACE[..len] {
            match stream.read(&mut first[len..]).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => len += n,
            }
        }
        true
    };
    let known = tokio::select! {
        known = tokio::time::timeout(settings.timeouts.head, sniff) => known.unwrap_or(false),
        _ = stopped(&mut shutdown) => false,
    };
    if !known {
        return;
    }
    if first[..len] == *http2::PREFACE {
        let read = BytesMut::from(&first[..len]);
        http2::serve(Rewind::new(read, stream), peer, route, settings, shutdown).await;
    } else {
        let io = Arc::new(stream);
        connection::serve_after(io, peer, &*route, &settings, shutdown, &first[..len]).await;
    }
}
