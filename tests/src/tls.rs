//! HTTPS for the tests: self-signed certificates made on the spot, and a client that
//! trusts exactly the ones it is given and tells which certificate the server presented.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::STEP_TIMEOUT;

/// A key and a self-signed certificate for `localhost` and `127.0.0.1`, as PEM.
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

/// Connects to `addr` (`127.0.0.1:PORT`) trusting only `trusted`, offering `alpn`.
pub async fn connect(addr: &str, trusted: &[&Cert], alpn: &[&[u8]]) -> Result<TlsConn, String> {
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
