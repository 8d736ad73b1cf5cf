//! A WebSocket client for the upgrade tests: the handshake over any stream (plain TCP or
//! TLS) and an echo check.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::STEP_TIMEOUT;

/// Opens a WebSocket to `url` (`ws://` or `wss://`) over `stream`, asserting the 101.
pub async fn handshake<S>(url: String, stream: S) -> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (socket, response) =
        tokio::time::timeout(STEP_TIMEOUT, tokio_tungstenite::client_async(url, stream))
            .await
            .expect("handshake within the step timeout")
            .expect("websocket handshake");
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    socket
}

/// Sends each of `messages` in turn and asserts that the next data message back is the
/// same, of the same type and content (pings and pongs in between are skipped).
pub async fn assert_echoes<S>(socket: &mut WebSocketStream<S>, messages: &[Message])
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for message in messages {
        socket.send(message.clone()).await.expect("send");
        let echoed = loop {
            let next = tokio::time::timeout(STEP_TIMEOUT, socket.next())
                .await
                .expect("echo within the step timeout")
                .expect("socket still open")
                .expect("websocket frame");
            if !matches!(next, Message::Ping(_) | Message::Pong(_)) {
                break next;
            }
        };
        assert_eq!(&echoed, message, "echo of the same type and content");
    }
}
