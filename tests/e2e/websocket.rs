//! WebSocket upgrades pass through the ingress.

use futures_util::{SinkExt, StreamExt};
use spindle_e2e::{fixture, TestServer, STEP_TIMEOUT};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn websocket_echo_through_the_ingress() {
    let server = TestServer::new()
        .app("web", fixture("ws-echo"))
        .start()
        .await;

    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    let (mut socket, response) = tokio::time::timeout(
        STEP_TIMEOUT,
        tokio_tungstenite::client_async(format!("ws://{}/", server.addr()), tcp),
    )
    .await
    .expect("handshake within the step timeout")
    .expect("websocket handshake");
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);

    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(Message::text(format!("hello {i}")));
        sent.push(Message::binary(vec![i as u8; 1 + i * 1000]));
    }
    // A message larger than any single read, to see bytes flow both ways under load.
    sent.push(Message::binary(
        (0..(1 << 20)).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    ));

    for message in &sent {
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
    socket.close(None).await.expect("close");
}
