//! The answer's state machine, driven as the worker thread and the core task drive it,
//! against a client socket that records what it is sent.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::*;
use crate::datapath::endpoint::Endpoint;
use crate::datapath::pipe::testing::pipe;
use crate::datapath::ready::ReadyWorkers;

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<u8>>,
    /// The socket takes nothing (a client that does not read).
    full: AtomicBool,
}

impl client::Socket for Recorder {
    fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
    fn try_read_buf(&self, _: &mut BytesMut) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
    fn poll_write_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.full.load(Ordering::SeqCst) {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        if self.full.load(Ordering::SeqCst) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.sent.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn shutdown(&self) {}
}

struct Setup {
    client: Arc<Recorder>,
    answer: Shared,
    endpoint: Arc<Endpoint>,
}

fn app() -> Arc<App> {
    Arc::new(App {
        id: "web".into(),
        ready: tokio::sync::watch::channel(Arc::new(ReadyWorkers::default())).1,
        queue: Arc::default(),
        max_in_flight: 10,
        queue_timeout: Duration::from_secs(1),
        response_timeout: None,
        metrics: Arc::default(),
        keeps_prefix: false,
    })
}

fn request(method: &str, framing: Framing) -> Request {
    let mut req = Request::default();
    req.method.push_str(method);
    req.path.push('/');
    req.framing = framing;
    req.keep_alive = true;
    req.head_only = method == "HEAD";
    req.upgrade = method == "UPGRADE";
    req
}

fn begin(req: &Request) -> Setup {
    let client = Arc::new(Recorder::default());
    let answer = shared(client.clone());
    let endpoint = Endpoint::new(pipe().0, Arc::default());
    let claim = endpoint.try_begin(10).expect("room");
    lock(&answer).begin(req, &app(), claim, false);
    Setup {
        client,
        answer,
        endpoint,
    }
}

impl Setup {
    /// The worker writes `data`; returns whether it may write more, and the effects.
    fn write(&self, data: &[u8]) -> (bool, Effects) {
        let mut fx = Effects::default();
        let more = lock(&self.answer).on_bytes(data, true, &mut fx);
        (more, fx)
    }

    /// The worker's side ends (`why`); returns the effects.
    fn end(&self, why: &'static str) -> Effects {
        let mut fx = Effects::default();
        lock(&self.answer).on_end(why, &mut fx);
        fx
    }

    /// The task gives up waiting (`timed_out`: on its deadline); returns the effects.
    fn give_up(&self, timed_out: bool) -> Effects {
        let mut fx = Effects::default();
        lock(&self.answer).give_up(timed_out, &mut fx);
        fx
    }

    /// The client stops reading: the task, polled, finds its socket full and waits.
    fn client_stops_reading(&self) {
        self.client.full.store(true, Ordering::SeqCst);
        assert!(self.poll_task(false).0.is_pending());
    }

    fn sent(&self) -> String {
        String::from_utf8_lossy(&self.client.sent.lock().unwrap()).into_owned()
    }

    fn poll_task(&self, eager: bool) -> (Poll<()>, Effects) {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut fx = Effects::default();
        let polled = lock(&self.answer).poll(&mut cx, eager, &mut fx);
        (polled, fx)
    }
}

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";

#[test]
fn a_whole_answer_goes_straight_to_the_client_and_frees_the_worker() {
    let s = begin(&request("GET", Framing::None));
    // The task waits for its client, not for this answer: it is not woken for it.
    assert!(s.poll_task(false).0.is_pending());
    let (more, fx) = s.write(HELLO);
    assert!(more);
    assert_eq!(s.sent().as_bytes(), HELLO);
    assert_eq!(fx.fate, Fate::Reuse);
    assert!(fx.release.is_some(), "the worker's slot is let go");
    assert!(
        fx.wake.is_none(),
        "a task that waits for its client is left alone"
    );
    drop(fx);
    assert_eq!(s.endpoint.in_flight(), 0);
    assert!(s.poll_task(false).0.is_ready());
}

#[test]
fn an_eager_task_hears_of_completion() {
    let s = begin(&request("GET", Framing::None));
    assert!(s.poll_task(true).0.is_pending());
    let (_, fx) = s.write(HELLO);
    assert!(fx.wake.is_some());
}

#[test]
fn a_head_split_over_writes_and_a_chunked_body_are_followed_to_their_end() {
    let s = begin(&request("GET", Framing::None));
    let (_, fx) = s.write(b"HTTP/1.1 200 OK\r\nTransfer-Enc");
    assert_eq!(fx.fate, Fate::Keep);
    assert_eq!(s.sent(), "", "nothing until the head is whole");
    let (_, fx) = s.write(b"oding: chunked\r\nKeep-Alive: timeout=5\r\n\r\n5\r\nhel");
    assert_eq!(fx.fate, Fate::Keep);
    let (_, fx) = s.write(b"lo\r\n0\r\n\r\n");
    assert_eq!(fx.fate, Fate::Reuse);
    assert_eq!(
        s.sent(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "keep-alive is ours to say"
    );
}

#[test]
fn bytes_past_the_answer_keep_the_connection_from_being_reused() {
    let s = begin(&request("GET", Framing::None));
    let mut data = HELLO.to_vec();
    data.extend_from_slice(b"junk");
    let (_, fx) = s.write(&data);
    assert_eq!(fx.fate, Fate::Close);
    assert_eq!(s.sent().as_bytes(), HELLO);
}

#[test]
fn a_body_after_a_head_that_allows_none_keeps_the_connection_from_being_reused() {
    let s = begin(&request("GET", Framing::None));
    let head = "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n";
    let (_, fx) = s.write(format!("{head}hello").as_bytes());
    assert_eq!(fx.fate, Fate::Close);
    assert!(!s.sent().contains("hello"), "{}", s.sent());
}

#[test]
fn a_client_that_does_not_read_makes_the_task_write_and_the_worker_wait() {
    let s = begin(&request("GET", Framing::None));
    s.client_stops_reading();
    let (more, fx) = s.write(b"HTTP/1.1 200 OK\r\nContent-Length: 400000\r\n\r\n");
    assert!(more);
    assert!(fx.wake.is_some(), "the task takes over the writing");
    let (more, _) = s.write(&vec![b'x'; 300_000]);
    assert!(!more, "past the high-water mark the worker waits");
    s.client.full.store(false, Ordering::SeqCst);
    let (polled, fx) = s.poll_task(false);
    assert!(polled.is_pending(), "100,000 bytes are still to come");
    assert!(fx.drained, "the worker may write again");
    assert!(s.sent().len() > 300_000);
    let (_, fx) = s.write(&vec![b'x'; 100_000]);
    assert_eq!(fx.fate, Fate::Reuse);
    assert!(s.poll_task(false).0.is_ready());
}

#[test]
fn a_last_write_past_the_high_water_mark_does_not_leave_the_worker_waiting() {
    let s = begin(&request("GET", Framing::None));
    s.client_stops_reading();
    let (_, _) = s.write(b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n");
    let (more, fx) = s.write(&vec![b'x'; 300_000]);
    assert!(!more, "past the high-water mark");
    assert_eq!(fx.fate, Fate::Reuse, "the answer is complete");
    assert!(
        fx.drained,
        "the worker hears it may write again before its connection carries another request"
    );
}

#[test]
fn a_worker_that_ends_before_answering_leaves_the_request_unanswered() {
    let s = begin(&request("GET", Framing::None));
    let fx = s.end("the worker exited");
    assert_eq!(fx.fate, Fate::Close);
    assert!(matches!(
        lock(&s.answer).phase,
        Phase::Unanswered("the worker exited")
    ));
    assert_eq!(s.sent(), "");
}

#[test]
fn a_worker_that_ends_mid_head_sent_a_bad_answer() {
    let s = begin(&request("GET", Framing::None));
    s.write(b"HTTP/1.1 200 O");
    s.end("the app closed the connection");
    assert!(matches!(lock(&s.answer).phase, Phase::Bad(_)));
}

#[test]
fn an_answer_cut_short_closes_the_client_after_what_it_got() {
    let s = begin(&request("GET", Framing::None));
    s.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel");
    let fx = s.end("the worker exited");
    assert_eq!(fx.fate, Fate::Close);
    let answer = lock(&s.answer);
    assert!(matches!(answer.phase, Phase::Done));
    assert!(answer.close);
}

#[test]
fn an_interim_head_passes_and_the_final_one_follows() {
    let s = begin(&request("POST", Framing::Length(3)));
    let (_, fx) = s.write(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(fx.fate, Fate::Keep);
    assert!(lock(&s.answer).started());
    lock(&s.answer).body_sent = true;
    let (_, fx) = s.write(HELLO);
    assert_eq!(fx.fate, Fate::Reuse);
    assert!(s
        .sent()
        .starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"));
}

#[test]
fn an_answer_before_the_body_is_sent_does_not_reuse_the_connection() {
    let s = begin(&request("POST", Framing::Length(10)));
    let (_, fx) = s.write(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        fx.fate,
        Fate::Close,
        "the worker would take the rest of the body"
    );
}

#[test]
fn a_switch_of_protocols_is_a_tunnel_that_holds_no_slot() {
    let s = begin(&request("UPGRADE", Framing::None));
    let (_, fx) = s.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n\r\nearly");
    assert_eq!(fx.fate, Fate::Keep);
    drop(fx);
    assert_eq!(
        s.endpoint.in_flight(),
        0,
        "a tunnel is not a request in flight"
    );
    assert!(lock(&s.answer).is_tunnel());
    assert!(s.sent().ends_with("\r\n\r\nearly"));
}

#[test]
fn a_switch_nobody_asked_for_is_a_bad_answer() {
    let s = begin(&request("GET", Framing::None));
    s.write(b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
    assert!(matches!(lock(&s.answer).phase, Phase::Bad(_)));
    assert_eq!(s.sent(), "");
}

#[test]
fn after_the_task_gives_up_the_worker_is_asked_to_stop() {
    let s = begin(&request("GET", Framing::None));
    let fx = s.give_up(false);
    assert_eq!(fx.fate, Fate::Close);
    let (more, _) = s.write(HELLO);
    assert!(!more);
    assert_eq!(s.sent(), "");
}

#[test]
fn a_head_not_begun_in_time_is_a_timeout() {
    let s = begin(&request("GET", Framing::None));
    s.give_up(true);
    assert!(matches!(lock(&s.answer).phase, Phase::TimedOut));
}
