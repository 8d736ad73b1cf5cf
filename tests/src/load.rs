//! A bounded load generator: `clients` keep-alive HTTP/1.1 connections, each sending one
//! request after another. It always ends: at its request budget, at its time limit, or at
//! [`LoadRun::stop`], whichever comes first, and every request has its own timeout.
//!
//! A request succeeds when it gets a 200 (and, for [`Load::post_echo`], the body it sent
//! back byte for byte); anything else is a [`Failure`], kept with when and why it happened.
//! A client whose connection broke reconnects for its next request; a keep-alive
//! connection found closed *before* a request was written is not a failure (nothing was
//! sent), just a reconnect.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client::{authority_and_path, empty, full, poll, Body};
use crate::STEP_TIMEOUT;

/// How many failures a report keeps in full (all are counted).
const KEPT_FAILURES: usize = 20;

/// What to send, how many clients, and the bounds. Build with [`Load::get`] or
/// [`Load::post_echo`], then [`Load::start`].
#[derive(Clone, Debug)]
pub struct Load {
    authority: String,
    path: String,
    method: Method,
    /// Some(len): every request carries a unique body of `len` bytes that must come back.
    echo_len: Option<usize>,
    clients: usize,
    max_requests: usize,
    max_duration: Duration,
    request_timeout: Duration,
    pause: Duration,
}

impl Load {
    /// GETs of `path` (with its query) on `base` (`http://127.0.0.1:PORT`).
    pub fn get(base: &str, path: &str) -> Load {
        Load::new(base, path, Method::GET, None)
    }

    /// POSTs to `path`, each with a distinct body of `body_len` bytes that the app must echo.
    pub fn post_echo(base: &str, path: &str, body_len: usize) -> Load {
        Load::new(base, path, Method::POST, Some(body_len.max(16)))
    }

    fn new(base: &str, path: &str, method: Method, echo_len: Option<usize>) -> Load {
        let authority = authority_and_path(base).0.to_string();
        Load {
            authority,
            path: path.to_string(),
            method,
            echo_len,
            clients: 8,
            max_requests: 10_000,
            max_duration: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            pause: Duration::ZERO,
        }
    }

    /// Concurrent connections (each with one request in flight at a time).
    pub fn clients(mut self, clients: usize) -> Load {
        self.clients = clients.max(1);
        self
    }

    /// Where the load ends at the latest: after `max_requests` requests in all (its budget),
    /// and no request starts later than `max_duration` after `start`.
    pub fn limits(mut self, max_requests: usize, max_duration: Duration) -> Load {
        self.max_requests = max_requests;
        self.max_duration = max_duration;
        self
    }

    /// One request (connect, send, read the whole answer) may take this long.
    pub fn request_timeout(mut self, timeout: Duration) -> Load {
        self.request_timeout = timeout;
        self
    }

    /// Each client waits this long between its requests (pacing, for a light load).
    pub fn pause(mut self, pause: Duration) -> Load {
        self.pause = pause;
        self
    }

    /// Starts the clients on the current runtime.
    pub fn start(self) -> LoadRun {
        let load = Arc::new(self);
        let shared = Arc::new(Shared::default());
        let started = Instant::now();
        let deadline = started + load.max_duration;
        let tasks = (0..load.clients)
            .map(|client| {
                tokio::spawn(client_loop(
                    load.clone(),
                    shared.clone(),
                    client,
                    started,
                    deadline,
                ))
            })
            .collect();
        LoadRun {
            load,
            shared,
            tasks,
            started,
        }
    }
}

/// One request that did not succeed.
#[derive(Clone, Debug)]
pub struct Failure {
    pub client: usize,
    pub seq: usize,
    /// When the request started, since the load started.
    pub at: Duration,
    pub what: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "client {} request {} (started at {:.3} s): {}",
            self.client,
            self.seq,
            self.at.as_secs_f64(),
            self.what
        )
    }
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    issued: AtomicUsize,
    ok: AtomicUsize,
    failed: AtomicUsize,
    reconnects: AtomicUsize,
    statuses: Mutex<BTreeMap<u16, usize>>,
    failures: Mutex<Vec<Failure>>,
}

/// A load in progress.
pub struct LoadRun {
    load: Arc<Load>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

impl LoadRun {
    /// Requests that succeeded so far.
    pub fn ok(&self) -> usize {
        self.shared.ok.load(Ordering::SeqCst)
    }

    /// Requests that failed so far.
    pub fn failed(&self) -> usize {
        self.shared.failed.load(Ordering::SeqCst)
    }

    /// Waits (polling, up to `timeout`) until at least `n` requests succeeded in all;
    /// false when the time ran out or the load ended first.
    pub async fn wait_ok(&self, n: usize, timeout: Duration) -> bool {
        poll(timeout, || async {
            if self.ok() >= n {
                Some(true)
            } else if self.tasks.iter().all(JoinHandle::is_finished) {
                Some(self.ok() >= n)
            } else {
                None
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Waits (up to the step timeout) until at least `n` requests succeeded; fails the test
    /// with the counts when the load never gets going.
    pub async fn assert_going(&self, n: usize) {
        assert!(
            self.wait_ok(n, STEP_TIMEOUT).await,
            "the load never got going: {} ok, {} failed",
            self.ok(),
            self.failed()
        );
    }

    /// Waits (polling, up to `timeout`) until `n` more requests succeeded than so far; false
    /// when the time ran out or the load ended first.
    pub async fn wait_more_ok(&self, n: usize, timeout: Duration) -> bool {
        self.wait_ok(self.ok() + n, timeout).await
    }

    /// Whether every client has stopped (budget or time used up, or stopped).
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().all(JoinHandle::is_finished)
    }

    /// Asks the clients to stop after their current request.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }

    /// Stops the clients and waits for them (each finishes or times out its request).
    pub async fn finish(self) -> LoadReport {
        self.stop();
        self.join().await
    }

    /// Waits for the clients to end by themselves (bounded by the load's own limits).
    pub async fn join(self) -> LoadReport {
        for task in self.tasks {
            if let Err(err) = task.await {
                if err.is_panic() {
                    std::panic::resume_unwind(err.into_panic());
                }
            }
        }
        let shared = &self.shared;
        LoadReport {
            method: self.load.method.clone(),
            path: self.load.path.clone(),
            clients: self.load.clients,
            ok: shared.ok.load(Ordering::SeqCst),
            failed: shared.failed.load(Ordering::SeqCst),
            reconnects: shared.reconnects.load(Ordering::SeqCst),
            statuses: shared.statuses.lock().unwrap().clone(),
            failures: shared.failures.lock().unwrap().clone(),
            elapsed: self.started.elapsed(),
            budget_used_up: shared.issued.load(Ordering::SeqCst) >= self.load.max_requests,
        }
    }
}

/// What a finished load saw.
#[derive(Clone, Debug)]
pub struct LoadReport {
    pub method: Method,
    pub path: String,
    pub clients: usize,
    pub ok: usize,
    pub failed: usize,
    /// New connections made after a client's first (after a failure or a closed idle one).
    pub reconnects: usize,
    /// Responses by status code (requests without a response are not counted here).
    pub statuses: BTreeMap<u16, usize>,
    /// The first failures, in the order they were recorded.
    pub failures: Vec<Failure>,
    pub elapsed: Duration,
    /// The load ended because its request budget was used up.
    pub budget_used_up: bool,
}

impl LoadReport {
    pub fn total(&self) -> usize {
        self.ok + self.failed
    }

    /// One paragraph for test output and failure messages.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} {} x{} clients: {} requests in {:.1} s ({:.0}/s), {} ok, {} failed, \
             {} reconnects, statuses {:?}{}",
            self.method,
            self.path,
            self.clients,
            self.total(),
            self.elapsed.as_secs_f64(),
            self.total() as f64 / self.elapsed.as_secs_f64().max(0.001),
            self.ok,
            self.failed,
            self.reconnects,
            self.statuses,
            if self.budget_used_up {
                " (request budget used up)"
            } else {
                ""
            },
        );
        if !self.failures.is_empty() {
            out.push_str(&format!(
                "\nfirst {} failure(s):",
                self.failures.len().min(KEPT_FAILURES)
            ));
            for failure in &self.failures {
                out.push_str(&format!("\n  {failure}"));
            }
        }
        out
    }
}

/// The body of request `seq` of `client`: distinct per request, so an answer that carries
/// another request's body is caught.
fn echo_body(client: usize, seq: usize, len: usize) -> Bytes {
    let mut body = format!("c{client}-r{seq}:").into_bytes();
    let mut k = 0usize;
    while body.len() < len {
        body.push(b'a' + ((client + seq + k) % 26) as u8);
        k += 1;
    }
    body.truncate(len);
    Bytes::from(body)
}

async fn client_loop(
    load: Arc<Load>,
    shared: Arc<Shared>,
    client: usize,
    started: Instant,
    deadline: Instant,
) {
    let mut conn: Option<SendRequest<Body>> = None;
    let mut connected_once = false;
    let mut seq = 0usize;
    loop {
        if shared.stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
            break;
        }
        if shared.issued.fetch_add(1, Ordering::SeqCst) >= load.max_requests {
            break;
        }
        let body = load.echo_len.map(|len| echo_body(client, seq, len));
        let at = started.elapsed();
        let exchange = one_request(&load, &mut conn, &mut connected_once, &shared, body.clone());
        let outcome = match tokio::time::timeout(load.request_timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {:?}", load.request_timeout)),
        };
        let verdict = match outcome {
            Ok((status, answer)) => {
                *shared
                    .statuses
                    .lock()
                    .unwrap()
                    .entry(status.as_u16())
                    .or_default() += 1;
                if status != StatusCode::OK {
                    Err(format!(
                        "status {status}: {}",
                        String::from_utf8_lossy(&answer[..answer.len().min(500)])
                    ))
                } else if body.as_ref().is_some_and(|sent| *sent != answer) {
                    Err(format!(
                        "200 but the echo differs: sent {} bytes, got {} bytes: {}",
                        body.as_ref().map_or(0, Bytes::len),
                        answer.len(),
                        String::from_utf8_lossy(&answer[..answer.len().min(120)])
                    ))
                } else {
                    Ok(())
                }
            }
            Err(why) => {
                // The connection is in an unknown state: the next request gets a new one.
                conn = None;
                Err(why)
            }
        };
        match verdict {
            Ok(()) => {
                shared.ok.fetch_add(1, Ordering::SeqCst);
            }
            Err(what) => {
                shared.failed.fetch_add(1, Ordering::SeqCst);
                let mut failures = shared.failures.lock().unwrap();
                if failures.len() < KEPT_FAILURES {
                    failures.push(Failure {
                        client,
                        seq,
                        at,
                        what,
                    });
                }
            }
        }
        seq += 1;
        if !load.pause.is_zero() {
            // Pacing between requests, not synchronization.
            tokio::time::sleep(load.pause).await;
        }
    }
}

/// Sends one request on the client's connection (made or remade as needed) and reads the
/// whole answer.
async fn one_request(
    load: &Load,
    conn: &mut Option<SendRequest<Body>>,
    connected_once: &mut bool,
    shared: &Shared,
    body: Option<Bytes>,
) -> Result<(StatusCode, Bytes), String> {
    // A pooled connection the server closed while idle is replaced before anything is
    // sent on it: that is what any keep-alive client does, and no request is lost.
    if let Some(sender) = conn.as_mut() {
        if sender.ready().await.is_err() {
            *conn = None;
        }
    }
    if conn.is_none() {
        if *connected_once {
            shared.reconnects.fetch_add(1, Ordering::SeqCst);
        }
        *connected_once = true;
        let stream = TcpStream::connect(&load.authority)
            .await
            .map_err(|err| format!("connect: {err}"))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| format!("handshake: {err}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        sender
            .ready()
            .await
            .map_err(|err| format!("new connection not ready: {err}"))?;
        *conn = Some(sender);
    }
    let sender = conn.as_mut().expect("connected above");
    let request = Request::builder()
        .method(load.method.clone())
        .uri(load.path.as_str())
        .header(http::header::HOST, load.authority.as_str())
        .body(match body {
            Some(bytes) => full(bytes),
            None => empty(),
        })
        .expect("valid request");
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("http: {}", error_chain(&err)))?;
    let status = response.status();
    let answer = response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("reading the body of a {status}: {}", error_chain(&err)))?
        .to_bytes();
    Ok((status, answer))
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
