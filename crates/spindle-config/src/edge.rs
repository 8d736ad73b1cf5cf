//! The public port's defences (`server.headersTimeout`, `keepAliveTimeout`, `bodyTimeout`,
//! `maxConnections`, `maxBodySize`, `trustProxy`): checked here, applied by the data path.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bytesize::ByteSize;
use crate::check::{invalid, positive_millis};
use crate::error::{ConfigError, Reporter};
use crate::integer::Integer;
use crate::keypath::KeyPath;
use crate::trust_proxy::TrustProxy;

/// `server.headersTimeout`: a request head must arrive within 10 s (also the longest a
/// connection may stay idle).
pub const DEFAULT_HEADERS_TIMEOUT: Duration = Duration::from_secs(10);
/// `server.keepAliveTimeout`: an idle keep-alive connection is closed after 5 s, as Node's
/// own server does.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// `server.bodyTimeout`: a body that makes no progress for 60 s ends its exchange.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// `server.maxConnections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;
/// `responseTimeout`: a public request's worker must begin its answer within 60 s.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// `server.trustProxy` as written.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawTrustProxy {
    /// `false`: no peer; `true`: every peer and every hop it names.
    All(bool),
    /// The peer and this many hops in all (Express's `trust proxy: N`).
    Hops(Integer),
    /// Addresses, CIDR blocks and `loopback`, `linklocal`, `uniquelocal`, comma-separated.
    List(String),
    /// The same, one per item.
    Items(Vec<String>),
}

impl Default for RawTrustProxy {
    fn default() -> Self {
        RawTrustProxy::All(false)
    }
}

/// The public port's timeouts and limits, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeConfig {
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub headers_timeout: Duration,
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub keep_alive_timeout: Duration,
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub body_timeout: Duration,
    pub max_connections: u32,
    pub max_body_size: Option<u64>,
    pub trust_proxy: TrustProxy,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            headers_timeout: DEFAULT_HEADERS_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_body_size: None,
            trust_proxy: TrustProxy::Nobody,
        }
    }
}

/// The keys as written (serde has filled in the defaults).
pub(crate) struct RawEdge {
    pub headers_timeout: Integer,
    pub keep_alive_timeout: Integer,
    pub body_timeout: Integer,
    pub max_connections: Integer,
    pub max_body_size: Option<ByteSize>,
    pub trust_proxy: RawTrustProxy,
}

pub(crate) fn read(
    raw: RawEdge,
    at: &KeyPath,
    report: &Reporter<'_>,
) -> Result<EdgeConfig, ConfigError> {
    let invalid = |key: &str, message: String| invalid(&at.key(key), message, report);
    let max_connections = u32::try_from(raw.max_connections.0)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            let message = format!(
                "expected a number of connections from 1 to {}, got {}",
                u32::MAX,
                raw.max_connections
            );
            invalid("maxConnections", message)
        })?;
    let max_body_size = match raw.max_body_size {
        None => None,
        Some(size) => Some(
            u64::try_from(size.bytes)
                .ok()
                .filter(|b| *b >= 1)
                .ok_or_else(|| {
                    invalid(
                        "maxBodySize",
                        format!("expected a positive size, got {size}"),
                    )
                })?,
        ),
    };
    let trust_proxy = match raw.trust_proxy {
        RawTrustProxy::All(false) => TrustProxy::Nobody,
        RawTrustProxy::All(true) => TrustProxy::Everyone,
        RawTrustProxy::Hops(n) => match u32::try_from(n.0) {
            Ok(0) => TrustProxy::Nobody,
            Ok(n) => TrustProxy::Hops(n),
            Err(_) => {
                let message = format!("expected a number of proxy hops (0 or more), got {n}");
                return Err(invalid("trustProxy", message));
            }
        },
        RawTrustProxy::List(text) => {
            TrustProxy::parse_list([text.as_str()]).map_err(|why| invalid("trustProxy", why))?
        }
        RawTrustProxy::Items(items) => TrustProxy::parse_list(items.iter().map(String::as_str))
            .map_err(|why| invalid("trustProxy", why))?,
    };
    Ok(EdgeConfig {
        headers_timeout: positive_millis(raw.headers_timeout, &at.key("headersTimeout"), report)?,
        keep_alive_timeout: positive_millis(
            raw.keep_alive_timeout,
            &at.key("keepAliveTimeout"),
            report,
        )?,
        body_timeout: positive_millis(raw.body_timeout, &at.key("bodyTimeout"), report)?,
        max_connections,
        max_body_size,
        trust_proxy,
    })
}
