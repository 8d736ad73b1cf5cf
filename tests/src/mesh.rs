//! Helpers for the in-process mesh tests: escaping a query value, a GET with a chosen
//! `Host` header, and the ports a process listens on.

use std::time::Duration;

use http::Method;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::client::{empty, try_request_with_headers, ClientError, Response};

/// What [`query_escape`] leaves as it is: the unreserved characters of RFC 3986.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` percent-encoded for a URL query (everything but unreserved characters).
pub fn query_escape(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// GET `uri` on a fresh connection to its host and port, with `host` as the one `Host`
/// header (instead of the URI's authority), within `timeout`.
pub async fn get_with_host(
    uri: &str,
    host: &str,
    timeout: Duration,
) -> Result<Response, ClientError> {
    try_request_with_headers(uri, Method::GET, &[("host", host)], empty(), timeout).await
}

/// The TCP ports that process `pid` (all its threads) listens on, from `/proc`: the
/// sockets among its file descriptors that `/proc/<pid>/net/tcp{,6}` lists in state LISTEN.
pub fn tcp_listen_ports(pid: u32) -> std::collections::BTreeSet<u16> {
    let fd_dir = format!("/proc/{pid}/fd");
    let inodes: std::collections::BTreeSet<String> = std::fs::read_dir(&fd_dir)
        .unwrap_or_else(|err| panic!("read {fd_dir}: {err}"))
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_string())
        })
        .collect();
    let mut ports = std::collections::BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let path = format!("/proc/{pid}/net/{table}");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if fields.len() < 10 || fields[3] != "0A" || !inodes.contains(fields[9]) {
                continue;
            }
            if let Some(port) = fields[1]
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
            {
                ports.insert(port);
            }
        }
    }
    ports
}
