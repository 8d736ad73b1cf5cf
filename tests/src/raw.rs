//! HTTP/1 over a plain TCP stream, for tests about the bytes on the wire: what is sent
//! goes out exactly as written, and responses are read with their framing checked here
//! (so a stray byte, a missing body or a connection left open shows).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::{first_value, STEP_TIMEOUT};

/// One client connection.
pub struct RawConn {
    stream: TcpStream,
    /// Read and not yet taken by a response.
    buf: Vec<u8>,
}

/// A response read off the wire.
#[derive(Clone)]
pub struct RawResponse {
    /// The status line and header lines as they came, final CRLF included.
    pub head: String,
    pub status: u16,
    /// Names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as delivered (chunked bodies decoded).
    pub body: Vec<u8>,
    /// The trailer fields of a chunked body, names lowercased.
    pub trailers: Vec<(String, String)>,
    /// The body ran until the connection closed (no length, not chunked).
    pub until_close: bool,
}

impl RawResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_value(&self.headers, name)
    }

    /// Whether a Connection header of the response has the option `option`.
    pub fn connection_has(&self, option: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == "connection")
            .flat_map(|(_, v)| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case(option))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the response when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("response body is not JSON ({err}): {self:?}"))
    }
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.body[..self.body.len().min(512)];
        write!(
            f,
            "{:?} + {} body bytes{}: {:?}",
            self.head,
            self.body.len(),
            if self.until_close {
                " (until close)"
            } else {
                ""
            },
            String::from_utf8_lossy(shown)
        )
    }
}

/// What the rest of a connection held after the responses a test expected.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// The server closed it (FIN) with nothing more.
    Closed,
    /// The server reset it with nothing more.
    Reset,
    /// Bytes came instead (shown lossily), or an unexpected error.
    Bytes(String),
    /// Still open after the time allowed.
    Open,
}

impl RawConn {
    /// Connects to `addr` (`host:port`).
    pub async fn connect(addr: &str) -> RawConn {
        let stream = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connect {addr}: timed out"))
            .unwrap_or_else(|err| panic!("connect {addr}: {err}"));
        let _ = stream.set_nodelay(true);
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects with a small receive buffer, so that the kernel holds little of what the
    /// server sends while the test does not read.
    pub async fn connect_with_recv_buffer(addr: &str, bytes: u32) -> RawConn {
        let addr: std::net::SocketAddr = addr.parse().expect("ip:port");
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let stream = tokio::time::timeout(STEP_TIMEOUT, socket.connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connect {addr}: timed out"))
            .unwrap_or_else(|err| panic!("connect {addr}: {err}"));
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    /// The client's own address: what the server sees as its peer.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.stream.local_addr().expect("local_addr")
    }

    /// Writes `bytes` as they are.
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        tokio::time::timeout(STEP_TIMEOUT, self.stream.write_all(bytes))
            .await
            .unwrap_or_else(|_| panic!("writing {} bytes: timed out", bytes.len()))
            .unwrap_or_else(|err| panic!("writing {} bytes: {err}", bytes.len()));
    }

    /// Sends FIN: the client will write nothing more.
    pub async fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    fn reader(&mut self) -> Reader<'_, TcpStream> {
        Reader {
            io: &mut self.stream,
            buf: &mut self.buf,
        }
    }

    /// Reads one response (an interim 1xx one too); `head_request`: it answers a HEAD, so
    /// it has no body whatever its head says. Panics on failure, with what was read.
    pub async fn response(&mut self, head_request: bool) -> RawResponse {
        match self.try_response(head_request, STEP_TIMEOUT).await {
            Ok(response) => response,
            Err(why) => panic!("reading a response: {why}"),
        }
    }

    /// Reads one response within `timeout`.
    pub async fn try_response(
        &mut self,
        head_request: bool,
        timeout: Duration,
    ) -> Result<RawResponse, String> {
        let result = bounded(timeout, self.reader().response(head_request, true)).await;
        result.map_err(|why| {
            let unread = &self.buf[..self.buf.len().min(2048)];
            format!("{why}; unread: {:?}", String::from_utf8_lossy(unread))
        })
    }

    /// Reads a response head only, leaving its body to be read.
    pub async fn head(&mut self) -> RawResponse {
        match bounded(STEP_TIMEOUT, self.reader().response(false, false)).await {
            Ok(response) => response,
            Err(why) => panic!("reading a response head: {why}"),
        }
    }

    /// Writes `bytes` in pieces while waiting for a response: for a server that answers
    /// before it has read the whole request. Writing stops when the response has come or
    /// a write failed; returns the response and how many bytes went out.
    pub async fn send_while_reading(
        &mut self,
        bytes: &[u8],
        timeout: Duration,
    ) -> (Result<RawResponse, String>, usize) {
        let (mut read_half, mut write_half) = self.stream.split();
        let mut reader = Reader {
            io: &mut read_half,
            buf: &mut self.buf,
        };
        let mut sent = 0;
        let writing = async {
            for piece in bytes.chunks(64 * 1024) {
                if write_half.write_all(piece).await.is_err() {
                    break;
                }
                sent += piece.len();
            }
            // Written, or the server stopped taking them: only the response matters now.
            std::future::pending::<()>().await
        };
        let response = bounded(timeout, async {
            tokio::select! {
                response = reader.response(false, true) => response,
                _ = writing => unreachable!("the writer never ends"),
            }
        })
        .await;
        (response, sent)
    }

    /// Reads the next `n` bytes (no framing), within the step timeout; fewer when the
    /// connection ends first.
    pub async fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut reader = self.reader();
        let read = async {
            while reader.buf.len() < n {
                match reader.read_some().await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(err) => panic!("reading {n} bytes: {err}"),
                }
            }
        };
        if tokio::time::timeout(STEP_TIMEOUT, read).await.is_err() {
            panic!("reading {n} bytes: timed out with {} read", self.buf.len());
        }
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// Fills `out` with the next bytes: what was read ahead, then straight from the
    /// socket (for bulk reads), within the step timeout.
    pub async fn read_into(&mut self, out: &mut [u8]) -> std::io::Result<()> {
        let buffered = self.buf.len().min(out.len());
        out[..buffered].copy_from_slice(&self.buf[..buffered]);
        self.buf.drain(..buffered);
        match tokio::time::timeout(STEP_TIMEOUT, self.stream.read_exact(&mut out[buffered..])).await
        {
            Ok(read) => read.map(|_| ()),
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    /// What follows, until the server ends the connection or `timeout` passes.
    pub async fn ending(&mut self, timeout: Duration) -> Ending {
        if !self.buf.is_empty() {
            return Ending::Bytes(String::from_utf8_lossy(&self.buf).into_owned());
        }
        let mut reader = self.reader();
        match tokio::time::timeout(timeout, reader.read_some()).await {
            Err(_) => Ending::Open,
            Ok(Ok(0)) => Ending::Closed,
            Ok(Ok(_)) => Ending::Bytes(String::from_utf8_lossy(reader.buf).into_owned()),
            Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionReset => Ending::Reset,
            Ok(Err(err)) => Ending::Bytes(format!("<error {err}>")),
        }
    }

    /// Asserts that the server ends the connection (FIN or reset) within the step timeout
    /// with nothing more sent.
    pub async fn assert_closed(&mut self, context: &str) {
        match self.ending(STEP_TIMEOUT).await {
            Ending::Closed | Ending::Reset => {}
            other => {
                panic!("{context}: expected the server to close the connection, got {other:?}")
            }
        }
    }

    /// Asserts that nothing comes and the connection stays open for `quiet`.
    pub async fn assert_open_and_quiet(&mut self, quiet: Duration, context: &str) {
        match self.ending(quiet).await {
            Ending::Open => {}
            other => panic!("{context}: expected an open, quiet connection, got {other:?}"),
        }
    }
}

/// Reads responses from `io`, keeping what it read ahead in `buf`.
struct Reader<'a, R> {
    io: &'a mut R,
    buf: &'a mut Vec<u8>,
}

impl<R: AsyncRead + Unpin> Reader<'_, R> {
    /// One response; only its head unless `with_body`.
    async fn response(
        &mut self,
        head_request: bool,
        with_body: bool,
    ) -> Result<RawResponse, String> {
        let head_len = loop {
            if let Some(at) = find(self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            if self.buf.len() > 1024 * 1024 {
                return Err("no end of head in 1 MiB".into());
            }
            self.fill("the response head").await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_len]).into_owned();
        self.buf.drain(..head_len);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if version != "HTTP/1.1" && version != "HTTP/1.0" {
            return Err(format!("bad status line {status_line:?} in {head:?}"));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?} in {head:?}"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let mut response = RawResponse {
            head,
            status,
            headers,
            body: Vec::new(),
            trailers: Vec::new(),
            until_close: false,
        };
        let no_body =
            head_request || (100..200).contains(&status) || status == 204 || status == 304;
        if !with_body || no_body {
            return Ok(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().ends_with("chunked"));
        if chunked {
            (response.body, response.trailers) = self.chunked_body().await?;
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| format!("bad content-length in {:?}", response.head))?;
            while self.buf.len() < length {
                self.fill("the response body").await?;
            }
            response.body = self.buf.drain(..length).collect();
        } else {
            response.until_close = true;
            loop {
                match self.read_some().await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(err) => return Err(format!("body until close: {err}")),
                }
            }
            response.body = std::mem::take(self.buf);
        }
        Ok(response)
    }

    async fn chunked_body(&mut self) -> Result<(Vec<u8>, Vec<(String, String)>), String> {
        let mut body = Vec::new();
        let mut trailers = Vec::new();
        loop {
            let line_end = self.line_end("a chunk size").await?;
            let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("bad chunk size line {line:?}"))?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailer lines, then the empty line.
                loop {
                    let end = self.line_end("the trailer section").await?;
                    let line: Vec<u8> = self.buf.drain(..end + 2).take(end).collect();
                    if end == 0 {
                        return Ok((body, trailers));
                    }
                    let line = String::from_utf8_lossy(&line).into_owned();
                    let (name, value) = line
                        .split_once(':')
                        .ok_or_else(|| format!("bad trailer line {line:?}"))?;
                    trailers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
            }
            while self.buf.len() < size + 2 {
                self.fill("chunk data").await?;
            }
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err("chunk data not followed by CRLF".into());
            }
            self.buf.drain(..size + 2);
        }
    }

    /// Where the next CRLF starts, reading until there is one.
    async fn line_end(&mut self, reading: &str) -> Result<usize, String> {
        loop {
            if let Some(at) = find(self.buf, b"\r\n") {
                return Ok(at);
            }
            self.fill(reading).await?;
        }
    }

    /// Reads more into the buffer; an error when the connection ended.
    async fn fill(&mut self, reading: &str) -> Result<(), String> {
        match self.read_some().await {
            Ok(0) => Err(format!(
                "connection closed while reading {reading}; unread: {:?}",
                String::from_utf8_lossy(self.buf)
            )),
            Ok(_) => Ok(()),
            Err(err) => Err(format!(
                "{err} while reading {reading}; unread: {:?}",
                String::from_utf8_lossy(self.buf)
            )),
        }
    }

    async fn read_some(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(64 * 1024);
        self.io.read_buf(self.buf).await
    }
}

async fn bounded<T>(
    timeout: Duration,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {timeout:?}")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
