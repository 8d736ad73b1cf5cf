//! WebSocket upgrades pass through the ingress.

use spindle_e2e::websocket::{assert_echoes, handshake};
use spindle_e2e::{fixture, TestServer};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn websocket_echo_through_the_ingress() {
    let server = TestServer::new()
        .app("web", fixture("ws-echo"))
        .start()
        .await;

    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    let mut socket = handshake(format!("ws://{}/", server.addr()), tcp).await;

    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(Message::text(format!("hello {i}")));
        sent.push(Message::binary(vec![i as u8; 1 + i * 1000]));
    }
    // A message larger than any single read, to see bytes flow both ways under load.
    sent.push(Message::binary(
        (0..(1 << 20)).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    ));
    assert_echoes(&mut socket, &sent).await;
    socket.close(None).await.expect("close");
}
