//! HTTP/2 on the public port (`server.http2`): over TLS when the client's ALPN picks
//! `h2`, and in clear text (h2c) when a client starts with the HTTP/2 preface ("prior
//! knowledge"). The `h2` crate speaks the protocol; each stream is then served by the same
//! [`connection::serve`] as an HTTP/1.1 connection with one request ([`stream`]), so the
//! workers keep speaking HTTP/1.1 and every request takes the same way to them.
//!
//! Limits: at most [`MAX_STREAMS`] streams at once per connection, a header list as large
//! as an HTTP/1.1 head may be, the h2 crate's guards against reset floods; the preface
//! and settings must come within `headersTimeout`, and a connection with no stream open
//! for `keepAliveTimeout` is closed (GOAWAY, then the close).

pub mod request;
pub mod rewind;
pub mod stream;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::connection::{self, Route, Settings};
use stream::H2Stream;

/// Streams open at once on one connection (what browsers and nginx use).
pub const MAX_STREAMS: u32 = 128;
/// The client's connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves one HTTP/2 connection until the client ends it, it stays idle, or `shutdown`
/// (then GOAWAY: open streams finish, no new ones start).
pub async fn serve<T, R>(
    io: T,
    peer: SocketAddr,
    route: Arc<R>,
    settings: Arc<Settings>,
    mut shutdown: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    R: Route,
{
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(settings.limits.max_head_bytes as u32);
    let handshake = builder.handshake::<_, Bytes>(io);
    let mut conn = match tokio::time::timeout(settings.timeouts.head, handshake).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "HTTP/2 handshake failed");
            return;
        }
        Err(_) => return,
    };
    let mut streams = JoinSet::new();
    let mut going_away = false;
    loop {
        let idle = streams.is_empty() && !going_away;
        tokio::select! {
            accepted = conn.accept() => match accepted {
                Some(Ok((request, respond))) => {
                    let route = route.clone();
                    let settings = settings.clone();
                    let shutdown = shutdown.clone();
                    streams.spawn(async move {
                        serve_stream(request, respond, peer, &*route, &settings, shutdown).await;
                    });
                }
                Some(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "HTTP/2 connection failed");
                    break;
                }
                None => break,
            },
            Some(_) = streams.join_next(), if !streams.is_empty() => {}
            // Restarted on every event, so it fires only after keepAliveTimeout with no
            // stream open and nothing received.
            _ = tokio::time::sleep(settings.timeouts.keep_alive), if idle => {
                conn.graceful_shutdown();
                going_away = true;
            }
            _ = crate::listener::stopped(&mut shutdown), if !going_away => {
                conn.graceful_shutdown();
                going_away = true;
            }
        }
    }
    // A failed connection fails its streams too; their tasks end at once.
    while streams.join_next().await.is_some() {}
}

/// One stream: its request as HTTP/1.1, served like a connection that carries one.
async fn serve_stream<R: Route>(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    peer: SocketAddr,
    route: &R,
    settings: &Settings,
    shutdown: watch::Receiver<bool>,
) {
    let (parts, body) = request.into_parts();
    let mut head = Vec::with_capacity(1024);
    let framing = match request::write_head(&parts, !body.is_end_stream(), &mut head) {
        Ok(framing) => framing,
        Err(why) => {
            tracing::debug!(%peer, error = why, "HTTP/2 request refused");
            let refused = http::Response::builder()
                .status(http::StatusCode::NOT_IMPLEMENTED)
                .body(())
                .expect("a response");
            let _ = respond.send_response(refused, true);
            return;
        }
    };
    let head_only = parts.method == http::Method::HEAD;
    let stream = H2Stream::new(head, framing, body, respond, head_only);
    connection::serve(Arc::new(stream), peer, route, settings, shutdown).await;
}
