//! `server.https`: the public port's keys and certificates, as Watt spells them (`key` and
//! `cert`, each PEM text, `{path}`, or an array of those, `key[i]` going with `cert[i]`).
//!
//! The files are read and checked here, when the config loads (so `spindle check` and a
//! start name the key and the file of a bad one), and again by the core whenever it
//! reloads them ([`load`]): the config keeps where the PEM comes from, not its bytes.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{io_message, ConfigError, ErrorKind, Reporter};
use crate::keypath::KeyPath;
use crate::object::Object;
use crate::warning::Warning;

/// TLS on the public port, in Watt's keys: the private key and its certificate chain,
/// reloaded on `SIGHUP` and when their files change
/// ([public-port.md](public-port.md#https-serverhttps)).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Https")]
pub(crate) struct RawHttps {
    /// The private key: PEM text, `{"path": "key.pem"}` (relative to the config file), or
    /// an array of those for several certificates (an RSA and an ECDSA one, say). A string
    /// that holds no `-----BEGIN` line is taken as a file path too.
    pub key: RawPems,
    /// The certificate chain (the server's certificate first) for each key, in the same
    /// forms and order as `key`.
    pub cert: RawPems,
    /// Watt's switch for HTTP/1.1 clients of an HTTP/2 server. Spindle always serves
    /// HTTP/1.1 (`false` is warned).
    #[serde(rename = "allowHTTP1")]
    pub allow_http1: Option<bool>,
    /// Watt's request for client certificates; not supported (a warning says so).
    pub request_cert: Option<bool>,
    /// Watt's check of client certificates; not supported (a warning says so).
    pub reject_unauthorized: Option<bool>,
}

/// One PEM source, or several.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawPems {
    One(RawPem),
    Many(Vec<RawPem>),
}

/// PEM text (or a file path), or `{"path": …}`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawPem {
    Text(String),
    File(Object<RawPemFile>),
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PemFile")]
pub(crate) struct RawPemFile {
    /// A PEM file, relative to the config file.
    pub path: String,
}

/// The public port's TLS material: where each key and its certificate chain come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpsConfig {
    pub pairs: Vec<KeyPair>,
}

/// A private key and its certificate chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyPair {
    pub key: Pem,
    pub cert: Pem,
    /// Where in the config they were given (`server.https.key[1]`), for error messages.
    #[serde(skip)]
    pub index: Option<usize>,
}

/// Where PEM text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    Inline(String),
    File(PathBuf),
}

impl Serialize for Pem {
    /// A file as its path; inline text is not printed (`spindle check` must not show a
    /// private key).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Pem::Inline(_) => serializer.serialize_str("(inline PEM)"),
            Pem::File(path) => serializer.serialize_str(&path.to_string_lossy()),
        }
    }
}

impl Pem {
    fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Pem::Inline(text) => Ok(text.clone().into_bytes()),
            Pem::File(path) => std::fs::read(path)
                .map_err(|e| format!("cannot read {}: {}", path.display(), io_message(&e))),
        }
    }

    /// The file, or "the inline PEM", as messages name it.
    fn describe(&self) -> String {
        match self {
            Pem::Inline(_) => "the inline PEM".to_owned(),
            Pem::File(path) => path.display().to_string(),
        }
    }

    pub fn file(&self) -> Option<&Path> {
        match self {
            Pem::Inline(_) => None,
            Pem::File(path) => Some(path),
        }
    }
}

impl HttpsConfig {
    /// Every file the keys and certificates are read from.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.pairs
            .iter()
            .flat_map(|pair| [pair.key.file(), pair.cert.file()])
            .flatten()
    }
}

/// A key or certificate that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    /// `key` or `cert`.
    pub key: &'static str,
    /// Its place when given as an array.
    pub index: Option<usize>,
    pub message: String,
}

impl TlsError {
    /// `server.https.cert[1]`.
    pub fn key_path(&self) -> String {
        match self.index {
            Some(i) => format!("server.https.{}[{i}]", self.key),
            None => format!("server.https.{}", self.key),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key_path(), self.message)
    }
}

impl std::error::Error for TlsError {}

/// The crypto every TLS part of Spindle uses: *ring*, which builds with nothing but a C
/// compiler. rustls marks it deprecated for its lack of post-quantum key exchange; moving
/// to aws-lc-rs (which has it) is a change of this one function and the Cargo features.
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks every key with its certificate chain: each file readable, holding a
/// key (or certificates), the key usable, and the key the one the certificate was issued
/// for.
pub fn load(config: &HttpsConfig) -> Result<Vec<Arc<CertifiedKey>>, TlsError> {
    let provider = crypto_provider();
    config
        .pairs
        .iter()
        .map(|pair| load_pair(pair, &provider).map(Arc::new))
        .collect()
}

fn load_pair(pair: &KeyPair, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let fail = |key: &'static str, message: String| TlsError {
        key,
        index: pair.index,
        message,
    };
    let key_pem = pair.key.read().map_err(|m| fail("key", m))?;
    let cert_pem = pair.cert.read().map_err(|m| fail("cert", m))?;
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            let message = format!(
                "{} holds no private key (a PEM block such as \"-----BEGIN PRIVATE KEY-----\")",
                pair.key.describe()
            );
            return Err(fail("key", message));
        }
        Err(e) => {
            let message = format!("{} is not valid PEM: {e}", pair.key.describe());
            return Err(fail("key", message));
        }
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            let message = format!("{} is not valid PEM: {e}", pair.cert.describe());
            fail("cert", message)
        })?;
    if chain.is_empty() {
        let message = format!(
            "{} holds no certificate (a PEM block \"-----BEGIN CERTIFICATE-----\")",
            pair.cert.describe()
        );
        return Err(fail("cert", message));
    }
    let signing = provider.key_provider.load_private_key(key).map_err(|e| {
        let message = format!("the key in {} cannot be used: {e}", pair.key.describe());
        fail("key", message)
    })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            let message = format!(
                "the certificate in {} was not issued for the key in {} (the first certificate must be the server's own, for this key)",
                pair.cert.describe(),
                pair.key.describe()
            );
            Err(fail("cert", message))
        }
        Err(e) => {
            let message = format!(
                "the certificate in {} cannot be used: {e}",
                pair.cert.describe()
            );
            Err(fail("cert", message))
        }
    }
}

/// Checks `server.https` (and `server.http2`, which needs to know whether TLS is on); file
/// paths start at `root`, keys without effect go to `warnings`.
pub(crate) fn read(
    raw: Option<Object<RawHttps>>,
    at: &KeyPath,
    root: &Path,
    report: &Reporter<'_>,
    warnings: &RefCell<Vec<Warning>>,
) -> Result<Option<HttpsConfig>, ConfigError> {
    let Some(Object(raw)) = raw else {
        return Ok(None);
    };
    let at = at.key("https");
    let warn = |key: &str, why: &str| {
        let warning = report.warn(&at.key(key), format!("has no effect in Spindle: {why}"));
        warnings.borrow_mut().push(warning);
    };
    if raw.request_cert == Some(true) || raw.reject_unauthorized.is_some() {
        let key = if raw.request_cert == Some(true) {
            "requestCert"
        } else {
            "rejectUnauthorized"
        };
        warn(key, "client certificates are not requested; authenticate clients in the application or in front of Spindle");
    }
    if raw.allow_http1 == Some(false) {
        warn("allowHTTP1", "HTTP/1.1 clients are always served");
    }
    let keys = sources(raw.key, &at.key("key"), root, report)?;
    let certs = sources(raw.cert, &at.key("cert"), root, report)?;
    if keys.len() != certs.len() || keys.is_empty() {
        let message = format!(
            "expected one certificate chain for each key, got {} key(s) and {} certificate chain(s)",
            keys.len(),
            certs.len()
        );
        return Err(report.at_value(&at.key("cert"), ErrorKind::InvalidValue, message));
    }
    let many = keys.len() > 1;
    let pairs = keys
        .into_iter()
        .zip(certs)
        .enumerate()
        .map(|(i, (key, cert))| KeyPair {
            key,
            cert,
            index: many.then_some(i),
        })
        .collect();
    let config = HttpsConfig { pairs };
    if let Err(error) = load(&config) {
        let mut path = at.key(error.key);
        if let Some(i) = error.index {
            path = path.index(i);
        }
        return Err(report.at_value(&path, ErrorKind::InvalidValue, error.message));
    }
    Ok(Some(config))
}

fn sources(
    raw: RawPems,
    at: &KeyPath,
    root: &Path,
    report: &Reporter<'_>,
) -> Result<Vec<Pem>, ConfigError> {
    let items = match raw {
        RawPems::One(one) => vec![(one, at.clone())],
        RawPems::Many(many) => many
            .into_iter()
            .enumerate()
            .map(|(i, one)| (one, at.index(i)))
            .collect(),
    };
    items
        .into_iter()
        .map(|(raw, at)| {
            let path = match raw {
                RawPem::Text(text) if text.contains("-----BEGIN") => return Ok(Pem::Inline(text)),
                RawPem::Text(path) => path,
                RawPem::File(Object(file)) => file.path,
            };
            if path.trim().is_empty() {
                let message = "expected PEM text or a file path, got an empty string".to_owned();
                return Err(report.at_value(&at, ErrorKind::InvalidValue, message));
            }
            Ok(Pem::File(crate::entry::clean(&root.join(path))))
        })
        .collect()
}
