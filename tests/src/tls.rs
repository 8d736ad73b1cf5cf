//! HTTPS for the tests: self-signed certificates made on the spot, and a client that
//! trusts exactly the ones it is given and tells which certificate the server presented.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::STEP_TIMEOUT;

/// A key and a self-signed certificate for `localhost` and `127.0.0.1`, as PEM.
#[derive(Clone)]
pub struct Cert {
    pub key_pem: String,
    pub cert_pem: String,
    pub der: CertificateDer<'static>,
}

impl Cert {
    pub fn new() -> Cert {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("generate a certificate");
        Cert {
            key_pem: made.key_pair.serialize_pem(),
            cert_pem: made.cert.pem(),
            der: made.cert.der().clone(),
        }
    }

    /// Writes `key.pem` and `cert.pem` into `dir` (replacing them, as a renewal does:
    /// written aside, then renamed over, so no reader sees half a file).
    pub fn write(&self, dir: &Path) {
        for (name, text) in [("key.pem", &self.key_pem), ("cert.pem", &self.cert_pem)] {
            let aside = dir.join(format!(".{name}.new"));
            std::fs::write(&aside, text).expect("write PEM");
            std::fs::rename(&aside, dir.join(name)).expect("rename PEM");
        }
    }

    /// Writes the files into `dir` (see [`Cert::write`]) and returns the `server.https`
    /// keys that name them.
    pub fn https_config(&self, dir: &Path) -> Value {
        self.write(dir);
        json!({"key": dir.join("key.pem"), "cert": dir.join("cert.pem")})
    }
}

impl Default for Cert {
    fn default() -> Cert {
        Cert::new()
    }
}

/// An HTTPS connection to the server, with what its handshake settled.
pub struct TlsConn {
    pub sender: SendRequest<Empty<Bytes>>,
    /// The certificate the server presented.
    pub presented: CertificateDer<'static>,
    /// The protocol ALPN chose, if any.
    pub alpn: Option<Vec<u8>>,
}

/// A TLS connection to `addr` trusting only `trusted`, offering `alpn`.
pub async fn tls_connect(
    addr: &str,
    trusted: &[&Cert],
    alpn: &[&[u8]],
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots.add(cert.der.clone()).map_err(|e| e.to_string())?;
    }
    // The server's provider (ring); deprecated only for its lack of post-quantum groups.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = TlsConnector::from(Arc::new(config));
    let tcp = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let name = ServerName::try_from("127.0.0.1").expect("a server name");
    let tls = tokio::time::timeout(STEP_TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| format!("TLS handshake: {e}"))?;
    Ok(tls)
}

/// Connects to `addr` (`127.0.0.1:PORT`) trusting only `trusted`, offering `alpn`, and
/// speaks HTTP/1.1 on it.
pub async fn connect(addr: &str, trusted: &[&Cert], alpn: &[&[u8]]) -> Result<TlsConn, String> {
    let tls = tls_connect(addr, trusted, alpn).await?;
    let (_, session) = tls.get_ref();
    let presented = session
        .peer_certificates()
        .and_then(|certs| certs.first())
        .cloned()
        .ok_or("no certificate presented")?;
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(TlsConn {
        sender,
        presented,
        alpn,
    })
}

impl TlsConn {
    /// GET `path` on this connection: its status and body.
    pub async fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>), String> {
        self.get_with(path, &[]).await
    }

    /// GET `path` with `headers` on this connection.
    pub async fn get_with(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), String> {
        let mut request = hyper::Request::get(path).header("host", "localhost");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::new()).expect("a request");
        let exchange = async {
            self.sender.ready().await.map_err(|e| e.to_string())?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok((status, body.to_vec()))
        };
        tokio::time::timeout(STEP_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("GET {path} timed out"))?
    }
}

/// An HTTP/2 connection: over TLS (ALPN `h2`) or in clear text by prior knowledge.
pub struct H2Conn {
    pub sender: h2::client::SendRequest<Bytes>,
    /// Ends when the connection does.
    pub closed: tokio::task::JoinHandle<Result<(), h2::Error>>,
}

/// HTTP/2 over TLS to `addr`, trusting `trusted`.
pub async fn connect_h2(addr: &str, trusted: &[&Cert]) -> Result<H2Conn, String> {
    let tls = tls_connect(addr, trusted, &[b"h2"]).await?;
    if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err("the server did not choose h2".into());
    }
    h2_over(tls).await
}

/// HTTP/2 in clear text (h2c, prior knowledge) to `addr`.
pub async fn connect_h2c(addr: &str) -> Result<H2Conn, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    h2_over(tcp).await
}

async fn h2_over<T>(io: T) -> Result<H2Conn, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = tokio::time::timeout(STEP_TIMEOUT, h2::client::handshake(io))
        .await
        .map_err(|_| "HTTP/2 handshake timed out".to_string())?
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    let closed = tokio::spawn(conn);
    Ok(H2Conn { sender, closed })
}

/// An HTTP/2 response, read whole.
#[derive(Debug)]
pub struct H2Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl H2Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

impl H2Conn {
    /// Sends `request` (with `body`, in `pieces` DATA frames) and reads the response.
    pub async fn send(
        &self,
        request: http::Request<()>,
        body: &[u8],
        pieces: usize,
    ) -> Result<H2Response, String> {
        let exchange = async {
            let mut sender = self
                .sender
                .clone()
                .ready()
                .await
                .map_err(|e| e.to_string())?;
            let (response, mut stream) = sender
                .send_request(request, body.is_empty())
                .map_err(|e| e.to_string())?;
            if !body.is_empty() {
                let size = body.len().div_ceil(pieces.max(1));
                let chunks: Vec<&[u8]> = body.chunks(size).collect();
                for (i, chunk) in chunks.iter().enumerate() {
                    stream
                        .send_data(Bytes::copy_from_slice(chunk), i + 1 == chunks.len())
                        .map_err(|e| e.to_string())?;
                }
            }
            let response = response.await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let mut recv = response.into_body();
            let mut body = Vec::new();
            while let Some(data) = recv.data().await {
                let data = data.map_err(|e| e.to_string())?;
                let _ = recv.flow_control().release_capacity(data.len());
                body.extend_from_slice(&data);
            }
            Ok(H2Response {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(STEP_TIMEOUT, exchange)
            .await
            .map_err(|_| "HTTP/2 exchange timed out".to_string())?
    }

    /// GET `uri` (absolute: `https://localhost/path`).
    pub async fn get(&self, uri: &str) -> Result<H2Response, String> {
        let request = http::Request::get(uri).body(()).expect("a request");
        self.send(request, &[], 0).await
    }
}
