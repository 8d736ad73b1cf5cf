//! Helpers for the in-process mesh tests: reading Prometheus counters by label, escaping a
//! query value, and a GET with a chosen `Host` header.

use std::time::Duration;

use http::{Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::{empty, try_get, ClientError, Response};
use crate::server::Running;

/// One sample of a Prometheus text exposition: its name, labels and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Every sample line of `text` (comments and blank lines skipped; lines that do not parse
/// are skipped too).
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_sample).collect()
}

/// The sum of the samples named `name` that carry every label in `labels` (other labels
/// are ignored, so extra labels such as `metrics.labels` do not matter). 0 when none match.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .fold(0.0, |total, s| total + s.value)
}

fn parse_sample(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut labels = Vec::new();
    let rest = if line[name_end..].starts_with('{') {
        // key="value" pairs, values with \" \\ \n escapes.
        let mut chars = line[name_end + 1..].char_indices();
        let base = name_end + 1;
        let mut key = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(base + i + 1);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    if chars.next()?.1 != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next()?.1 {
                            '"' => break,
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            other => value.push(other),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                other => key.push(other),
            }
        }
        &line[end?..]
    } else {
        &line[name_end..]
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

impl Running {
    /// The admin `/metrics` text; panics with all output unless it answers 200.
    pub async fn scrape_metrics(&self) -> String {
        let url = format!("{}/metrics", self.admin_url());
        match try_get(&url).await {
            Ok(res) if res.status == StatusCode::OK => res.text(),
            Ok(res) => self.fail(&format!("GET {url}: {} {}", res.status, res.text())),
            Err(err) => self.fail(&format!("GET {url}: {err}")),
        }
    }

    /// `spindle_http_requests_total` of `app`, summed over every series that carries all of
    /// `labels` besides `app` (e.g. `[("method", "GET"), ("code_class", "2xx")]`).
    pub async fn requests_total(&self, app: &str, labels: &[(&str, &str)]) -> f64 {
        let mut all = vec![("app", app)];
        all.extend_from_slice(labels);
        sum(
            &self.scrape_metrics().await,
            "spindle_http_requests_total",
            &all,
        )
    }
}

/// `value` percent-encoded for a URL query (everything but unreserved characters).
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// GET `uri` on a fresh connection to its host and port, with `host` as the one `Host`
/// header (instead of the URI's authority), within `timeout`.
pub async fn get_with_host(
    uri: &str,
    host: &str,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let parsed: Uri = uri
        .parse()
        .unwrap_or_else(|err| panic!("bad URL {uri}: {err}"));
    let authority = parsed
        .authority()
        .unwrap_or_else(|| panic!("URL without host: {uri}"))
        .clone();
    let path = parsed
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let exchange = async {
        let stream = TcpStream::connect(authority.as_str())
            .await
            .map_err(ClientError::Connect)?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(ClientError::Http)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(http::header::HOST, host)
            .body(empty())
            .expect("valid request");
        let response = sender
            .send_request(request)
            .await
            .map_err(ClientError::Http)?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(ClientError::Http)?.to_bytes();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(ClientError::Timeout))
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
