//! The public listener: each client connection is served by the data path, its requests
//! sent to the app its path is routed to (the entrypoint unless `server.routes` says
//! otherwise).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::datapath::connection::{self, Dispatch, Route, Settings};
use crate::datapath::http1::RequestHead;
use crate::datapath::prefixes::PrefixRoutes;

/// Public requests go by path prefix.
pub struct PublicRoute(pub Arc<PrefixRoutes>);

impl Route for PublicRoute {
    fn route(&self, head: &RequestHead<'_, '_>) -> Dispatch {
        let (app, strip) = self.0.route(head.path());
        Dispatch::App {
            app,
            strip,
            answer_within: None,
        }
    }
}

/// Accepts connections until `shutdown` turns true, then stops accepting (new
/// connections are refused), lets each open connection finish the request it is on,
/// and returns when all are closed or `deadline` passed (returning false then).
pub async fn serve(
    listener: TcpListener,
    route: Arc<PublicRoute>,
    shutdown: watch::Receiver<bool>,
    deadline: Duration,
) -> bool {
    let mut stop = shutdown.clone();
    let settings = Arc::new(Settings::default());
    // Each connection task holds a sender; when all are dropped, every connection is done.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    loop {
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
                tokio::spawn(async move {
                    connection::serve(Arc::new(stream), peer, &*route, &settings, shutdown).await;
                    drop(open);
                });
            }
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    drop(open_tx);
    tokio::time::timeout(deadline, open_rx.recv()).await.is_ok()
}

/// Resolves once shutdown is requested (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across the caller's later awaits.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
