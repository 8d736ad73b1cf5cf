//! TLS on the public port (`server.https`): the certificates in use, swapped on `SIGHUP`
//! and when their files change, and each connection's handshake. After the handshake the
//! connection is served as any other ([`crate::datapath::tls`]).
//!
//! A reload changes what the next handshakes present; connections already open keep the
//! keys they agreed on. A key or certificate that cannot be used is logged, and the ones
//! in use stay.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use spindle_config::{HttpsConfig, TlsError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::datapath::reply;
use crate::datapath::tls::TlsClient;

/// How often the key and certificate files are looked at for a change.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);
/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;
/// How long a plain-HTTP client is given to read our refusal before the close.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// The public port's TLS: its certificates and the acceptor that presents them.
pub struct Tls {
    acceptor: TlsAcceptor,
    certs: Arc<Certificates>,
    config: HttpsConfig,
}

/// The certificates new handshakes choose from.
#[derive(Debug)]
struct Certificates(RwLock<Arc<[Arc<CertifiedKey>]>>);

impl ResolvesServerCert for Certificates {
    /// The first key the client can verify a signature of (an ECDSA certificate for a
    /// client without RSA, say).
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let keys = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        let schemes = hello.signature_schemes();
        keys.iter()
            .find(|key| key.key.choose_scheme(schemes).is_some())
            .cloned()
    }
}

/// A connection whose handshake is done, in the protocol ALPN chose.
pub enum Accepted {
    Http1(TlsClient),
    Http2(tokio_rustls::server::TlsStream<TcpStream>),
}

/// Why a connection was not served.
#[derive(Debug)]
pub enum Refused {
    TimedOut,
    /// A plain-HTTP client: the socket, for [`refuse_plain_http`].
    PlainHttp(TcpStream),
    Failed(io::Error),
    /// The server is stopping.
    Stopping,
}

impl Tls {
    /// Loads the keys and certificates (checked already when the config loaded; they
    /// may have changed since).
    pub fn new(config: &HttpsConfig, http2: bool) -> Result<Arc<Tls>, TlsError> {
        let keys = spindle_config::load_certified_keys(config)?;
        let certs = Arc::new(Certificates(RwLock::new(keys.into())));
        let mut server = ServerConfig::builder_with_provider(spindle_config::crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("the provider supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        // HTTP/2 when the client offers it and `server.http2` is on, else HTTP/1.1; a
        // client that offers only other protocols is refused in the handshake, as RFC
        // 7301 asks (one that offers none gets HTTP/1.1).
        server.alpn_protocols = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(Arc::new(Tls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            certs,
            config: config.clone(),
        }))
    }

    /// Reads the keys and certificates again; new handshakes use them. Logs the outcome
    /// (`trigger` says why); on an error the ones in use stay.
    pub fn reload(&self, trigger: &'static str) -> bool {
        match spindle_config::load_certified_keys(&self.config) {
            Ok(keys) => {
                *self.certs.0.write().unwrap_or_else(|e| e.into_inner()) = keys.into();
                tracing::info!(trigger, "TLS certificates reloaded");
                true
            }
            Err(error) => {
                tracing::error!(trigger, %error, "TLS certificates not reloaded; the ones in use stay");
                false
            }
        }
    }

    /// The TLS handshake of a new connection, bounded by `within` (the head timeout). A
    /// client that speaks plain HTTP to this port gets a 400 saying so, then the close.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        within: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Accepted, Refused> {
        let handshake = async move {
            let mut first = [0u8; 1];
            match tcp.peek(&mut first).await {
                Ok(0) => return Err(Refused::Failed(io::ErrorKind::UnexpectedEof.into())),
                Ok(_) if first[0] != TLS_HANDSHAKE => return Err(Refused::PlainHttp(tcp)),
                Ok(_) => {}
                Err(e) => return Err(Refused::Failed(e)),
            }
            self.acceptor
                .accept(tcp)
                .await
                .map(|stream| {
                    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        return Accepted::Http2(stream);
                    }
                    let (tcp, tls) = stream.into_inner();
                    Accepted::Http1(TlsClient::new(tcp, tls))
                })
                .map_err(Refused::Failed)
        };
        tokio::pin!(handshake);
        tokio::select! {
            done = tokio::time::timeout(within, &mut handshake) => {
                done.unwrap_or(Err(Refused::TimedOut))
            }
            _ = crate::listener::stopped(shutdown) => Err(Refused::Stopping),
        }
    }

    /// Every file the keys and certificates come from.
    pub fn files(&self) -> Vec<PathBuf> {
        self.config.files().map(PathBuf::from).collect()
    }
}

/// Answers a plain-HTTP client on the TLS port: a 400 that says to use https, then the
/// close. The client's unread request is drained for a moment first, so the close does
/// not turn into a reset that destroys the answer before the client reads it.
pub async fn refuse_plain_http(mut tcp: TcpStream) {
    let mut out = Vec::with_capacity(256);
    reply::rejected(400, "this port speaks HTTPS; use an https:// URL")
        .write(true, false, &mut out);
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        let mut sink = [0u8; 4096];
        // What of the request is already here is read before the answer goes.
        while matches!(tcp.try_read(&mut sink), Ok(n) if n > 0) {}
        if tcp.write_all(&out).await.is_err() {
            return;
        }
        let _ = tcp.shutdown().await;
        while let Ok(n) = tcp.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Reloads the certificates whenever a file they come from changes, until `shutdown`.
/// Files are compared by content, so a Kubernetes secret's symlink swap or an editor's
/// rename is seen as a change; a file read half-written fails to load, is logged, and the
/// next look (with the whole file) loads it.
pub async fn watch_files(tls: Arc<Tls>, mut shutdown: watch::Receiver<bool>) {
    let files = tls.files();
    if files.is_empty() {
        return;
    }
    let read_all = |files: &[PathBuf]| -> Vec<Option<Vec<u8>>> {
        files.iter().map(|f| std::fs::read(f).ok()).collect()
    };
    let mut seen = read_all(&files);
    let mut ticks = tokio::time::interval(WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = crate::listener::stopped(&mut shutdown) => return,
        }
        let files_now = files.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || read_all(&files_now)).await else {
            continue;
        };
        if now != seen {
            seen = now;
            tls.reload("file change");
        }
    }
}
