//! The public listener: HTTP/1.1 from clients, each request forwarded to a worker.

mod body;
mod headers;
mod proxy;
pub(crate) mod reply;
mod router;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use body::ProxyBody;
pub use proxy::Proxy;
pub use router::Router;

/// Accepts connections until `shutdown` turns true, then stops accepting (new
/// connections are refused), lets each open connection finish the request it is on,
/// and returns when all are closed or `deadline` passed (returning false then).
pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    mut shutdown: watch::Receiver<bool>,
    deadline: Duration,
) -> bool {
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
                let router = router.clone();
                let mut shutdown = shutdown.clone();
                let open = open_tx.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let router = router.clone();
                        async move {
                            let mut req = req;
                            let proxy = router.route(&mut req);
                            Ok::<_, Infallible>(proxy.forward(req, peer).await)
                        }
                    });
                    let conn = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    tokio::pin!(conn);
                    let result = tokio::select! {
                        result = conn.as_mut() => result,
                        _ = stopped(&mut shutdown) => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    if let Err(err) = result {
                        tracing::debug!(error = %err, %peer, "client connection ended with an error");
                    }
                    drop(open);
                });
            }
            _ = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    drop(open_tx);
    tokio::time::timeout(deadline, open_rx.recv()).await.is_ok()
}

/// Resolves once shutdown is requested (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across the caller's later awaits.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
