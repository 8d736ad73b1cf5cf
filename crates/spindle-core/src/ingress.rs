//! The public listener: each client connection is served by the data path, its requests
//! sent to the app its path is routed to (the entrypoint unless `server.routes` says
//! otherwise).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

use crate::datapath::connection::{self, AnswerWithin, Dispatch, Route, Settings};
use crate::datapath::http1::RequestHead;
use crate::datapath::prefixes::PrefixRoutes;
use crate::datapath::watchdog::Timeouts;
use crate::tls::{self, Refused, Tls};

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
    let mut stop = shutdown.clone();
    let settings = Arc::new(settings);
    let room = Arc::new(Semaphore::new(max_connections.max(1)));
    // Each connection task holds a sender; when all are dropped, every connection is done.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    loop {
        let permit = tokio::select! {
            permit = room.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = stopped(&mut stop) => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // Out of fds and the like: keep serving the connections we have.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
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
                        None => {
                            connection::serve(Arc::new(stream), peer, &*route, &settings, shutdown)
                                .await
                        }
                        Some(tls) => serve_tls(&tls, stream, peer, &route, &settings, shutdown).await,
                    }
                    drop((open, permit));
                });
            }
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    drop(open_tx);
    tokio::time::timeout(deadline, open_rx.recv()).await.is_ok()
}

/// One TLS connection: its handshake (within the head timeout), then its requests.
async fn serve_tls(
    tls: &Tls,
    stream: TcpStream,
    peer: SocketAddr,
    route: &PublicRoute,
    settings: &Settings,
    mut shutdown: watch::Receiver<bool>,
) {
    match tls
        .handshake(stream, settings.timeouts.head, &mut shutdown)
        .await
    {
        Ok(client) => connection::serve(Arc::new(client), peer, route, settings, shutdown).await,
        Err(Refused::PlainHttp(tcp)) => {
            tracing::debug!(%peer, "plain HTTP on the TLS port refused");
            tls::refuse_plain_http(tcp).await;
        }
        // Scanners and clients that distrust the certificate fail here all the time.
        Err(why) => tracing::debug!(%peer, ?why, "TLS handshake failed"),
    }
}

/// Resolves once shutdown is requested (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across the caller's later awaits.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
