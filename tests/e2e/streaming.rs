//! Bodies stream through the ingress in both directions.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use sha2::{Digest, Sha256};
use spindle_e2e::client::{send_streaming, try_request};
use spindle_e2e::{fixture, TestServer};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

/// Deterministic pseudo-random bytes (xorshift64), one MiB-sized chunk at a time.
fn chunk(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_of_100_mib_streams_to_the_app() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;

    const CHUNKS: u64 = 100;
    // The body is made chunk by chunk as hyper asks for it, and hashed on the way out.
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let body_hasher = hasher.clone();
    let frames = stream::unfold(0u64, move |n| {
        let hasher = body_hasher.clone();
        async move {
            if n == CHUNKS {
                return None;
            }
            let data = chunk(n, MIB);
            hasher.lock().unwrap().update(&data);
            Some((Ok::<_, Infallible>(Frame::data(Bytes::from(data))), n + 1))
        }
    });
    let body = StreamBody::new(frames).boxed();

    let response = try_request(
        &format!("{}/upload", server.url()),
        Method::POST,
        body,
        Duration::from_secs(120),
    )
    .await
    .unwrap_or_else(|err| panic!("POST /upload: {err}"));
    assert_eq!(response.status, StatusCode::OK, "body: {}", response.text());
    let reply = response.json();
    let expected = format!("{:x}", hasher.lock().unwrap().clone().finalize());
    assert_eq!(
        reply["bytes"],
        (CHUNKS as usize * MIB) as u64,
        "reply: {reply}"
    );
    assert_eq!(reply["sha256"], expected.as_str(), "reply: {reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_of_64_mib_streams_from_the_app() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;

    const MB: usize = 64;
    let download = async {
        let response = send_streaming(
            &format!("{}/big?mb={MB}", server.url()),
            Method::GET,
            spindle_e2e::client::empty(),
        )
        .await
        .unwrap_or_else(|err| panic!("GET /big: {err}"));
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        // The app fills its k-th 64 KiB chunk with the byte k % 256.
        let mut offset = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.unwrap_or_else(|err| panic!("body broke at byte {offset}: {err}"));
            if let Ok(data) = frame.into_data() {
                for (i, byte) in data.iter().enumerate() {
                    let at = offset + i;
                    let expected = ((at / (64 * 1024)) % 256) as u8;
                    assert_eq!(*byte, expected, "wrong byte at offset {at}");
                }
                offset += data.len();
            }
        }
        offset
    };
    let received = tokio::time::timeout(Duration::from_secs(120), download)
        .await
        .expect("download of 64 MiB within 120 s");
    assert_eq!(received, MB * MIB);
}
