//! `server`: the public port, its timeouts and limits.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bytesize::ByteSize;
use crate::config::{DEFAULT_HOSTNAME, DEFAULT_PORT};
use crate::edge::{
    RawTrustProxy, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADERS_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
};
use crate::https::RawHttps;
use crate::integer::Integer;
use crate::object::Object;

/// The public HTTP server.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Server")]
pub(crate) struct RawServer {
    /// Address to listen on, or a host name (its first address is used). The default takes
    /// connections from this machine only; `0.0.0.0` listens on every IPv4 interface.
    #[serde(default = "default_hostname")]
    pub hostname: String,
    /// Port to listen on; `0` picks a free port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Integer,
    /// The longest queue of connections not yet accepted (`listen(2)`'s backlog); the
    /// system's default when not given.
    #[schemars(range(min = 1))]
    pub backlog: Option<Integer>,
    /// Applications mounted on this port by path prefix, so several can be public without a
    /// gateway: `{"/api": "api"}` sends `/api` and `/api/...` to application `api`, with the
    /// prefix removed. The longest matching prefix wins; paths no route matches go to the
    /// entrypoint. A prefix starts with `/`, is not `/` itself, does not end with `/` and
    /// holds no `?`, `#` or whitespace; each value is one of the applications (configured or
    /// autoloaded).
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// Milliseconds a client has to send a whole request head once the server waits for
    /// one; a head begun and not finished is answered 408. Also the longest any connection
    /// stays idle.
    #[serde(default = "default_headers_timeout")]
    #[schemars(range(min = 1))]
    pub headers_timeout: Integer,
    /// Milliseconds an idle keep-alive connection is kept open between requests (Node's
    /// default).
    #[serde(default = "default_keep_alive_timeout")]
    #[schemars(range(min = 1))]
    pub keep_alive_timeout: Integer,
    /// Milliseconds a body may make no progress: a client that stops sending its request
    /// body (408) or stops reading its answer, or an application that stops writing its
    /// answer's body, ends the exchange and the connection. WebSocket and other upgraded
    /// connections are not timed.
    #[serde(default = "default_body_timeout")]
    #[schemars(range(min = 1))]
    pub body_timeout: Integer,
    /// Client connections open at once. Past it, new connections wait in the kernel's
    /// listen backlog until one closes; open ones are not disturbed.
    #[serde(default = "default_max_connections")]
    #[schemars(range(min = 1))]
    pub max_connections: Integer,
    /// The largest request body passed to an application, in bytes or a size like
    /// `"10MB"`; larger ones are answered 413. No limit when not set.
    pub max_body_size: Option<ByteSize>,
    /// Whose `X-Forwarded-For`, `-Proto`, `-Host`, `-Prefix` and `Forwarded` headers are
    /// believed, as Express spells it: `false` (nobody: a client's are replaced or removed),
    /// `true` (every peer), a number of proxy hops in front of Spindle, or addresses and
    /// CIDR blocks (`"10.0.0.0/8, loopback"`, or an array). From a trusted proxy they are
    /// kept and extended with its address.
    #[serde(default)]
    pub trust_proxy: RawTrustProxy,
    /// Serve HTTPS on this port: the key and certificate (Watt's `server.https`). The files
    /// are read again on `SIGHUP` and whenever they change; connections already open keep
    /// the certificate they began with.
    pub https: Option<Object<RawHttps>>,
    /// Serve HTTP/2 too: over TLS to clients that offer it (ALPN `h2`), and in clear text
    /// to clients that start with the HTTP/2 preface (h2c by prior knowledge). HTTP/1.1 is
    /// always served; applications keep speaking HTTP/1.1.
    #[serde(default)]
    pub http2: bool,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            hostname: default_hostname(),
            port: default_port(),
            backlog: None,
            routes: BTreeMap::new(),
            headers_timeout: default_headers_timeout(),
            keep_alive_timeout: default_keep_alive_timeout(),
            body_timeout: default_body_timeout(),
            max_connections: default_max_connections(),
            max_body_size: None,
            trust_proxy: RawTrustProxy::default(),
            https: None,
            http2: false,
        }
    }
}

fn default_hostname() -> String {
    DEFAULT_HOSTNAME.to_owned()
}

fn default_port() -> Integer {
    DEFAULT_PORT.into()
}

fn default_headers_timeout() -> Integer {
    Integer::millis(DEFAULT_HEADERS_TIMEOUT)
}

fn default_keep_alive_timeout() -> Integer {
    Integer::millis(DEFAULT_KEEP_ALIVE_TIMEOUT)
}

fn default_body_timeout() -> Integer {
    Integer::millis(DEFAULT_BODY_TIMEOUT)
}

fn default_max_connections() -> Integer {
    DEFAULT_MAX_CONNECTIONS.into()
}
