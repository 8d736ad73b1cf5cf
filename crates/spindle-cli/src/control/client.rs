//! A small blocking HTTP/1.0 client for the control socket. One connection per request:
//! the server closes it after the response, so a body is read to EOF and never chunked.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use spindle_api::ErrorBody;

use super::error::ControlError;

/// How long one exchange may take. The management API answers from the admin thread, so
/// it is fast even when the apps are busy; only `inject` waits on an app.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A response head larger than this is not from Spindle.
const MAX_HEAD: usize = 64 * 1024;

/// One running spindle's control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pid: u32,
    socket: PathBuf,
}

/// A response read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Endpoint {
    pub fn new(pid: u32, socket: PathBuf) -> Endpoint {
        Endpoint { pid, socket }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether something listens on the socket (a connection is made and dropped).
    pub fn accepts(&self) -> bool {
        UnixStream::connect(&self.socket).is_ok()
    }

    /// GET `path`; an answer other than 2xx is an error.
    pub fn get(&self, path: &str) -> Result<Response, ControlError> {
        self.exchange(&request("GET", path, None), Some(TIMEOUT))
    }

    /// GET `path` with a shorter bound, for probing several servers during discovery.
    pub fn get_within(&self, path: &str, timeout: Duration) -> Result<Response, ControlError> {
        self.exchange(&request("GET", path, None), Some(timeout))
    }

    /// POST `path` without a body; an answer other than 2xx is an error.
    pub fn post(&self, path: &str) -> Result<Response, ControlError> {
        self.exchange(&request("POST", path, None), Some(TIMEOUT))
    }

    /// POST `path` with a JSON body; an answer other than 2xx is an error.
    pub fn post_json(&self, path: &str, body: &impl Serialize) -> Result<Response, ControlError> {
        let body = serde_json::to_vec(body).map_err(|err| self.protocol(err.to_string()))?;
        self.exchange(&request("POST", path, Some(&body)), Some(TIMEOUT))
    }

    /// DELETE `path`; an answer other than 2xx is an error.
    pub fn delete(&self, path: &str) -> Result<Response, ControlError> {
        self.exchange(&request("DELETE", path, None), Some(TIMEOUT))
    }

    /// Decodes a JSON answer.
    pub fn decode<T: DeserializeOwned>(&self, response: &Response) -> Result<T, ControlError> {
        serde_json::from_slice(&response.body).map_err(|err| ControlError::Protocol {
            pid: self.pid,
            what: format!("{err}: {}", snippet(&response.body)),
        })
    }

    /// GET `path` and return the body as it arrives (after a 2xx head), with no time
    /// limit: for `logs --follow`, which ends when the server or the user does.
    pub fn stream(&self, path: &str) -> Result<BufReader<UnixStream>, ControlError> {
        let mut stream = self.connect(None)?;
        stream
            .write_all(&request("GET", path, None))
            .map_err(|source| self.io(source))?;
        let mut reader = BufReader::new(stream);
        let mut head = Vec::new();
        loop {
            let n = reader
                .read_until(b'\n', &mut head)
                .map_err(|source| self.io(source))?;
            if n == 0 || head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
                break;
            }
            if head.len() > MAX_HEAD {
                return Err(self.protocol("the response head is too large".into()));
            }
        }
        let (status, _) = parse_head(&head).map_err(|what| self.protocol(what))?;
        if !(200..300).contains(&status) {
            let mut body = Vec::new();
            reader
                .read_to_end(&mut body)
                .map_err(|source| self.io(source))?;
            return Err(api_error(status, &body));
        }
        Ok(reader)
    }

    fn exchange(
        &self,
        request: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Response, ControlError> {
        let mut stream = self.connect(timeout)?;
        stream
            .write_all(request)
            .map_err(|source| self.io(source))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .map_err(|source| self.io(source))?;
        let response = parse_response(&raw).map_err(|what| self.protocol(what))?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(api_error(response.status, &response.body))
        }
    }

    fn connect(&self, timeout: Option<Duration>) -> Result<UnixStream, ControlError> {
        let stream =
            UnixStream::connect(&self.socket).map_err(|source| ControlError::Unreachable {
                pid: self.pid,
                socket: self.socket.clone(),
                source,
            })?;
        stream
            .set_read_timeout(timeout)
            .and_then(|()| stream.set_write_timeout(timeout))
            .map_err(|source| self.io(source))?;
        Ok(stream)
    }

    fn io(&self, source: std::io::Error) -> ControlError {
        ControlError::Io {
            pid: self.pid,
            source,
        }
    }

    fn protocol(&self, what: String) -> ControlError {
        ControlError::Protocol {
            pid: self.pid,
            what,
        }
    }
}

/// The bytes of an HTTP/1.0 request; a body is always JSON. A POST without one says so
/// (`Content-Length: 0`): an HTTP/1.0 server may refuse a POST of unknown length.
pub fn request(method: &str, path: &str, body: Option<&[u8]>) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.0\r\nHost: spindle\r\n");
    match body {
        Some(body) => out.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )),
        None if method != "GET" => out.push_str("Content-Length: 0\r\n"),
        None => {}
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if let Some(body) = body {
        bytes.extend_from_slice(body);
    }
    bytes
}

/// Splits a whole response into head and body. The body is everything after the head,
/// cut to `Content-Length` when there is one.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let (head_len, sep) = find_head_end(raw).ok_or_else(|| {
        if raw.is_empty() {
            "the connection closed without an answer".to_string()
        } else {
            format!("no end of the response head in {}", snippet(raw))
        }
    })?;
    let (status, headers) = parse_head(&raw[..head_len + sep])?;
    let mut body = raw[head_len + sep..].to_vec();
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok());
    if let Some(length) = length {
        if body.len() < length {
            return Err(format!(
                "the body ended after {} of {length} bytes",
                body.len()
            ));
        }
        body.truncate(length);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Where the head ends: its length and the length of the blank line after it.
fn find_head_end(raw: &[u8]) -> Option<(usize, usize)> {
    let crlf = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The status code and headers of a response head (status line, header lines, blank line).
pub fn parse_head(head: &[u8]) -> Result<(u16, Vec<(String, String)>), String> {
    let text = std::str::from_utf8(head).map_err(|_| "the response head is not UTF-8")?;
    let mut lines = text.lines();
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP response: {status_line:?}"));
    }
    let status = code
        .parse::<u16>()
        .map_err(|_| format!("bad status line: {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line: {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok((status, headers))
}

/// The error of a non-2xx answer: the server's `message` when the body has one.
pub fn api_error(status: u16, body: &[u8]) -> ControlError {
    let error: ErrorBody = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| spindle_api::from_object(&json).ok())
        .unwrap_or_default();
    let message = error.message.unwrap_or_else(|| {
        let text = snippet(body);
        if text.is_empty() {
            format!("the server answered {status}")
        } else {
            format!("the server answered {status}: {text}")
        }
    });
    ControlError::Api {
        status,
        code: error.code,
        message,
    }
}

/// The start of a body, for error messages.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    text.trim().to_string()
}

/// Percent-encodes a query value or a path segment (everything but RFC 3986 unreserved
/// characters).
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_http_1_0_with_a_host_and_a_sized_json_body() {
        assert_eq!(
            request("GET", "/v1/status", None),
            b"GET /v1/status HTTP/1.0\r\nHost: spindle\r\n\r\n"
        );
        assert_eq!(
            String::from_utf8(request("POST", "/v1/apps/web/scale", Some(br#"{"workers":3}"#)))
                .unwrap(),
            "POST /v1/apps/web/scale HTTP/1.0\r\nHost: spindle\r\nContent-Type: application/json\r\n\
             Content-Length: 13\r\n\r\n{\"workers\":3}"
        );
        assert_eq!(
            request("POST", "/v1/stop", None),
            b"POST /v1/stop HTTP/1.0\r\nHost: spindle\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn parses_a_response_read_to_eof() {
        let raw = b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\nX-Thing:  a: b \r\n\r\n{\"apps\":[\"web\"]}";
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 202);
        assert_eq!(
            response.headers,
            vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("x-thing".to_string(), "a: b".to_string()),
            ]
        );
        assert_eq!(response.body, b"{\"apps\":[\"web\"]}");
    }

    #[test]
    fn content_length_bounds_the_body() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
        assert_eq!(parse_response(raw).unwrap().body, b"ok");
        let short = b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nok";
        assert!(parse_response(short).unwrap_err().contains("2 of 10"));
    }

    #[test]
    fn a_body_may_contain_blank_lines() {
        let raw = b"HTTP/1.1 200 OK\r\n\r\na\r\n\r\nb";
        assert_eq!(parse_response(raw).unwrap().body, b"a\r\n\r\nb");
    }

    #[test]
    fn rejects_what_is_not_http() {
        for (raw, why) in [
            (&b""[..], "closed without an answer"),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP response"),
            (b"HTTP/1.1 abc\r\n\r\n", "bad status line"),
            (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line"),
            (b"HTTP/1.1 200 OK\r\nx: y", "no end"),
        ] {
            let err = parse_response(raw).unwrap_err();
            assert!(err.contains(why), "{raw:?}: {err}");
        }
    }

    #[test]
    fn api_errors_carry_the_server_message() {
        let body = br#"{"code":"unknown_app","message":"no app \"x\" (apps: web)"}"#;
        match api_error(404, body) {
            ControlError::Api {
                status,
                code,
                message,
            } => {
                assert_eq!(status, 404);
                assert_eq!(code, "unknown_app");
                assert_eq!(message, "no app \"x\" (apps: web)");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            api_error(500, b"boom\n").to_string(),
            "the server answered 500: boom"
        );
        assert_eq!(api_error(502, b"").to_string(), "the server answered 502");
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(encode("web"), "web");
        assert_eq!(encode("my app/1?&="), "my%20app%2F1%3F%26%3D");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn talks_to_a_unix_socket_and_reads_to_eof() {
        let dir = std::env::temp_dir().join(format!("spindle-cli-client-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("control.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") {
                reader.read_line(&mut head).unwrap();
            }
            conn.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n{\"code\":\"unknown_app\",\"message\":\"no app \\\"x\\\"\"}")
                .unwrap();
            head
        });
        let endpoint = Endpoint::new(1, path);
        assert!(!Endpoint::new(2, dir.join("missing.sock")).accepts());
        let err = endpoint.get("/v1/apps/x").unwrap_err();
        assert_eq!(err.to_string(), "no app \"x\"");
        assert_eq!(err.exit_code(), 1);
        let head = server.join().unwrap();
        assert!(head.starts_with("GET /v1/apps/x HTTP/1.0\r\n"), "{head}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_socket_is_unreachable() {
        let endpoint = Endpoint::new(1, PathBuf::from("/nonexistent/spindle-1/control.sock"));
        let err = endpoint.get("/v1/status").unwrap_err();
        assert_eq!(err.exit_code(), 69, "{err}");
    }
}
