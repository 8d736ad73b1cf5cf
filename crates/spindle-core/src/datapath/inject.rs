//! Requests the management API sends to an app (`spindle inject`): written as a client
//! would write them into one end of a socket pair whose other end the data path serves,
//! so they take exactly the public path — worker choice, queue, retries, metrics.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::runtime::Handle;

use super::app::App;
use super::connection::{self, OneApp, Settings};

/// Largest answer read back.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Sends `req` to `app` through a connection served on `runtime` (the core's), and returns
/// the whole answer.
pub async fn send(
    runtime: &Handle,
    app: Arc<App>,
    req: Request<Full<Bytes>>,
) -> Result<Response<Bytes>, String> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| e.to_string())?;
    for end in [&ours, &theirs] {
        end.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    let ours = tokio::net::UnixStream::from_std(ours).map_err(|e| e.to_string())?;
    runtime.spawn(async move {
        // Registered with the core's runtime, which drives it.
        let Ok(theirs) = tokio::net::UnixStream::from_std(theirs) else {
            return;
        };
        let (_open, never) = tokio::sync::watch::channel(false);
        let peer = SocketAddr::from(([127, 0, 0, 1], 0));
        connection::serve(
            Arc::new(theirs),
            peer,
            &OneApp(app),
            &Settings::default(),
            never,
        )
        .await;
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(ours))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = res.into_parts();
    let bytes = Limited::new(body, MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Response::from_parts(parts, bytes))
}
