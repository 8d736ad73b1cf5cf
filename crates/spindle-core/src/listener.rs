//! The one accept loop every server runs: the public port, each app's mesh socket, the
//! admin port and the management socket. Each server takes its listener and its shutdown
//! signal as arguments and says only what to do with a connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;

use crate::backoff;

/// Something connections are accepted from.
pub trait Listener: Send + Sync {
    type Conn: Send + 'static;
    /// The next connection. Dropping the future before it resolves loses none.
    fn accept(&self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

impl Listener for TcpListener {
    type Conn = (TcpStream, SocketAddr);
    fn accept(&self) -> impl Future<Output = io::Result<Self::Conn>> + Send {
        TcpListener::accept(self)
    }
}

impl Listener for UnixListener {
    /// A Unix socket's peer has no address worth keeping.
    type Conn = UnixStream;
    async fn accept(&self) -> io::Result<UnixStream> {
        UnixListener::accept(self).await.map(|(stream, _)| stream)
    }
}

/// Resolves once shutdown is requested (or its sender is gone): the one shutdown signal
/// every listener, connection and TLS handshake of the process waits on.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across the caller's later awaits.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Accepts from `listener` and hands each connection to `serve` (which should spawn what
/// takes time) until `shutdown` turns true or its sender is gone. Once it has, no further
/// connection is accepted; connections handed over are the caller's to finish. A failed
/// accept (out of file descriptors and the like) is logged and retried after a wait that
/// grows while the failures go on ([`backoff::after_accept_error`]); the connections
/// already open are not disturbed.
pub async fn run<L: Listener>(
    listener: &L,
    mut shutdown: watch::Receiver<bool>,
    name: &str,
    mut serve: impl FnMut(L::Conn),
) {
    let mut failures = 0u32;
    loop {
        let accepted = tokio::select! {
            // Shutdown first: a connection waiting in the backlog is not taken once it is asked.
            biased;
            () = stopped(&mut shutdown) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(conn) => {
                failures = 0;
                serve(conn);
            }
            Err(err) => {
                failures = failures.saturating_add(1);
                let wait = backoff::after_accept_error(failures);
                tracing::warn!(
                    error = %err,
                    listener = name,
                    failures,
                    wait_ms = wait.as_millis() as u64,
                    "accept failed"
                );
                tokio::select! {
                    biased;
                    () = stopped(&mut shutdown) => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;

    /// Answers accepts from a script, then never again; notes when each was asked for.
    struct Scripted {
        answers: Mutex<VecDeque<io::Result<u32>>>,
        asked: Mutex<Vec<Instant>>,
    }

    impl Scripted {
        fn new(answers: impl IntoIterator<Item = io::Result<u32>>) -> Scripted {
            Scripted {
                answers: Mutex::new(answers.into_iter().collect()),
                asked: Mutex::default(),
            }
        }

        /// The waits between one accept and the next, in ms.
        fn gaps(&self) -> Vec<u128> {
            let asked = self.asked.lock().unwrap();
            asked
                .windows(2)
                .map(|w| (w[1] - w[0]).as_millis())
                .collect()
        }
    }

    impl Listener for Scripted {
        type Conn = u32;
        async fn accept(&self) -> io::Result<u32> {
            self.asked.lock().unwrap().push(Instant::now());
            let next = self.answers.lock().unwrap().pop_front();
            match next {
                Some(answer) => answer,
                None => std::future::pending().await,
            }
        }
    }

    fn emfile() -> io::Result<u32> {
        Err(io::Error::from_raw_os_error(libc::EMFILE))
    }

    /// Runs the loop over `listener` and asks it to stop `after` in: what it served, and
    /// how long it ran.
    async fn run_stopping_after(listener: &Scripted, after: Duration) -> (Vec<u32>, Duration) {
        let (stop, shutdown) = watch::channel(false);
        let started = Instant::now();
        let mut served = vec![];
        let stopping = async {
            tokio::time::sleep(after).await;
            stop.send(true).unwrap();
        };
        tokio::join!(
            run(listener, shutdown, "test", |conn| served.push(conn)),
            stopping
        );
        (served, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn failed_accepts_back_off_and_a_success_resets_the_wait() {
        let listener = Scripted::new([emfile(), emfile(), emfile(), Ok(1), emfile(), Ok(2)]);
        // Past every wait of the script: the listener is then waiting for a connection.
        let (served, _) = run_stopping_after(&listener, Duration::from_secs(5)).await;
        assert_eq!(served, [1, 2]);
        // 50, 100, 200 ms after the three failures; none after the success; 50 ms again
        // after the next failure; none after the last success.
        assert_eq!(listener.gaps(), [50, 100, 200, 0, 50, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_grows_to_its_cap_and_stays() {
        let listener = Scripted::new((0..9).map(|_| emfile()));
        run_stopping_after(&listener, Duration::from_secs(10)).await;
        assert_eq!(
            listener.gaps(),
            [50, 100, 200, 200, 200, 200, 200, 200, 200]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_the_loop_while_it_waits_for_a_connection() {
        let listener = Scripted::new([]);
        let (_, ran) = run_stopping_after(&listener, Duration::from_millis(10)).await;
        assert_eq!(ran, Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_the_loop_while_it_backs_off() {
        let listener = Scripted::new((0..20).map(|_| emfile()));
        // Into the seventh wait (200 ms, from 950 ms on).
        let (_, ran) = run_stopping_after(&listener, Duration::from_millis(1000)).await;
        assert_eq!(ran, Duration::from_millis(1000));
        assert_eq!(listener.asked.lock().unwrap().len(), 7);
    }

    #[tokio::test]
    async fn nothing_is_accepted_once_shutdown_is_asked() {
        let listener = Scripted::new([Ok(1), Ok(2)]);
        let (stop, shutdown) = watch::channel(false);
        stop.send(true).unwrap();
        let mut served = vec![];
        run(&listener, shutdown, "test", |conn| served.push(conn)).await;
        assert!(served.is_empty());
        assert!(listener.asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_dropped_sender_is_a_shutdown() {
        let listener = Scripted::new([]);
        let (stop, shutdown) = watch::channel(false);
        drop(stop);
        tokio::time::timeout(
            Duration::from_secs(5),
            run(&listener, shutdown, "test", |_| {}),
        )
        .await
        .expect("the loop ended");
    }

    #[tokio::test]
    async fn tcp_and_unix_connections_are_handed_over() {
        let (stop, shutdown) = watch::channel(false);
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let dir = std::env::temp_dir().join(format!("spindle-listener-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("l.sock");
        let _ = std::fs::remove_file(&path);
        let unix = UnixListener::bind(&path).unwrap();

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let tcp_tx = tx.clone();
        let serving = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                tokio::join!(
                    run(&tcp, shutdown.clone(), "tcp", move |(_, peer)| {
                        tcp_tx.send(format!("tcp {}", peer.ip())).unwrap();
                    }),
                    run(&unix, shutdown, "unix", move |_| {
                        tx.send("unix".to_owned()).unwrap();
                    }),
                );
            }
        });
        let _tcp_client = TcpStream::connect(addr).await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), "tcp 127.0.0.1");
        let _unix_client = UnixStream::connect(&path).await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), "unix");
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), serving)
            .await
            .expect("both loops ended")
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
