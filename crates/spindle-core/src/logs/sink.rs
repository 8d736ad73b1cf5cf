//! The log sink: a bounded queue drained by one writer thread.
//!
//! All output goes through one OS thread so a worker never waits on a slow terminal or
//! pipe: producers only render their line and try to enqueue it. When the queue is full
//! the line is dropped and counted, and the writer reports the count once it catches up;
//! losing log lines is better than stalling request handling behind stdout.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::field::FieldValue;
use super::labels::Labels;
use super::layer::EventLayer;
use super::origin::Origin;
use super::render::{Event, Style};
use super::tap::{Tap, TapLine};
use super::worker::WorkerLog;
use super::{level, Format};

/// Lines the queue holds before new ones are dropped. At a typical 200-byte line this
/// is a few MiB, enough to ride out a terminal pausing for a second under heavy logging.
pub(crate) const QUEUE_CAPACITY: usize = 16 * 1024;

/// The writer stops draining the queue into one write at this many bytes, so one batch
/// does not grow without bound while producers keep up with it.
const BATCH_BYTES: usize = 64 * 1024;

/// Target of the sink's own records.
const SINK_TARGET: &str = "spindle_core::logs";

/// The sink: owns the writer thread. Cloneable handle (`Arc` inside); create one per
/// process.
#[derive(Clone)]
pub struct LogSink {
    shared: Arc<Shared>,
}

/// What producers (worker logs, the tracing layer) need to send a line.
pub(crate) struct Shared {
    tx: SyncSender<Msg>,
    tap: Tap,
    dropped: Arc<AtomicU64>,
    pub(crate) style: Style,
    /// Injectable so tests can assert exact `time` values.
    pub(crate) now_ms: fn() -> u64,
    pub(crate) origin: Origin,
}

enum Msg {
    /// A rendered line, newline included.
    Line(String),
    /// Answered once every line queued before it is written and flushed.
    Flush(mpsc::Sender<()>),
}

/// Sink settings that production takes from `Format` and tests set directly.
pub(crate) struct Options {
    pub(crate) style: Style,
    pub(crate) capacity: usize,
    pub(crate) now_ms: fn() -> u64,
    /// The `pid` and `hostname` on every line.
    pub(crate) origin: Origin,
}

impl LogSink {
    /// Starts the writer thread writing to `out` (the process stdout in production, a
    /// `Vec`/pipe in tests). Pretty output is coloured.
    pub fn start(format: Format, out: Box<dyn Write + Send>) -> LogSink {
        let style = Style {
            format,
            colour: format == Format::Pretty,
        };
        LogSink::start_with(
            Options {
                style,
                capacity: QUEUE_CAPACITY,
                now_ms: system_now_ms,
                origin: Origin::current(),
            },
            out,
        )
    }

    pub(crate) fn start_with(options: Options, out: Box<dyn Write + Send>) -> LogSink {
        let (tx, rx) = mpsc::sync_channel(options.capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            rx,
            out,
            dropped: dropped.clone(),
            style: options.style,
            now_ms: options.now_ms,
            origin: options.origin.clone(),
        };
        std::thread::Builder::new()
            .name("spindle-logs".into())
            .spawn(move || writer.run())
            .expect("failed to spawn the log writer thread");
        LogSink {
            shared: Arc::new(Shared {
                tx,
                tap: Tap::default(),
                dropped,
                style: options.style,
                now_ms: options.now_ms,
                origin: options.origin,
            }),
        }
    }

    /// Per-worker line assembler; `app`/`worker` are the labels added to every line.
    pub fn worker(&self, app: &str, worker: &str) -> WorkerLog {
        WorkerLog::new(
            self.shared.clone(),
            Labels::new(app, worker, self.shared.origin.clone()),
        )
    }

    /// A tracing `Layer` that formats coordinator events into this sink (install with
    /// `tracing_subscriber::registry().with(layer)`), filtering below `max_level`.
    ///
    /// The filter applies to spans too, so fields of a span below `max_level` (say a
    /// `debug_span!` at info) do not appear on events; give spans whose fields matter,
    /// like the per-worker span, at least the lowest level that is logged.
    pub fn tracing_layer(
        &self,
        max_level: impl Into<tracing_subscriber::filter::LevelFilter>,
    ) -> impl tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync {
        use tracing_subscriber::Layer as _;
        EventLayer::new(self.shared.clone()).with_filter(max_level.into())
    }

    /// The last `n` lines (of `app` when given, as JSON) and a feed of every later one.
    pub fn subscribe(
        &self,
        app: Option<&str>,
        n: usize,
    ) -> (Vec<TapLine>, tokio::sync::broadcast::Receiver<TapLine>) {
        self.shared.tap.subscribe(app, n)
    }

    /// Blocks until everything sent before this call is written and flushed (used before
    /// process exit and by tests).
    pub fn flush(&self) {
        let (ack_tx, ack_rx) = mpsc::channel();
        // Unlike lines, the flush request waits for room: its caller asked to wait.
        if self.shared.tx.send(Msg::Flush(ack_tx)).is_ok() {
            // An error means the writer thread is gone; there is nothing left to wait for.
            let _ = ack_rx.recv();
        }
    }
}

impl Shared {
    /// Renders a line for the output and, in JSON, for the tap (the same string when the
    /// output is JSON), then enqueues it.
    pub(crate) fn emit(&self, app: Option<&Arc<str>>, render: impl Fn(Style) -> String) {
        let line = render(self.style);
        if self.style.format == Format::Json {
            self.tap.push(app, &line);
        } else {
            self.tap.push(
                app,
                &render(Style {
                    format: Format::Json,
                    colour: false,
                }),
            );
        }
        self.send(line);
    }

    /// Enqueues a rendered line without ever blocking; counts it as dropped if the queue
    /// is full.
    pub(crate) fn send(&self, line: String) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Msg::Line(line)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The writer thread's state.
struct Writer {
    rx: Receiver<Msg>,
    out: Box<dyn Write + Send>,
    dropped: Arc<AtomicU64>,
    style: Style,
    now_ms: fn() -> u64,
    origin: Origin,
}

impl Writer {
    /// Writes batches until every sender (sink handle, worker log, layer) is gone.
    fn run(mut self) {
        let mut batch = String::new();
        let mut acks = Vec::new();
        while let Ok(first) = self.rx.recv() {
            // Take whatever else is already queued so a burst costs one write, not one
            // syscall per line.
            let mut next = Some(first);
            while let Some(msg) = next {
                match msg {
                    Msg::Line(line) => batch.push_str(&line),
                    Msg::Flush(ack) => acks.push(ack),
                }
                next = if batch.len() < BATCH_BYTES {
                    self.rx.try_recv().ok()
                } else {
                    None
                };
            }
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                batch.push_str(&self.dropped_notice(dropped));
            }
            // Write errors are ignored: there is nowhere left to report them, and the
            // queue must keep draining so producers are not left dropping forever.
            if !batch.is_empty() {
                let _ = self.out.write_all(batch.as_bytes());
                batch.clear();
            }
            let _ = self.out.flush();
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
    }

    fn dropped_notice(&self, dropped: u64) -> String {
        self.style.event(&Event {
            level: level::WARN,
            time: (self.now_ms)(),
            origin: &self.origin,
            target: SINK_TARGET,
            msg: "log lines dropped",
            fields: &[("dropped", FieldValue::Uint(dropped))],
        })
    }
}

fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fixed_now, json_sink, test_origin, SharedBuf};
    use super::super::Stream;
    use super::*;

    /// Blocks inside its first write until released, so a test can hold the writer
    /// thread still while it fills the queue.
    struct GatedWriter {
        entered: mpsc::Sender<()>,
        gate: mpsc::Receiver<()>,
        held: bool,
        out: SharedBuf,
    }

    impl Write for GatedWriter {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            if !self.held {
                self.held = true;
                self.entered.send(()).unwrap();
                self.gate.recv().unwrap();
            }
            self.out.write(data)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_drops_lines_and_reports_how_many() {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (gate_tx, gate_rx) = mpsc::channel();
        let out = SharedBuf::default();
        let writer = GatedWriter {
            entered: entered_tx,
            gate: gate_rx,
            held: false,
            out: out.clone(),
        };
        let options = Options {
            style: Style {
                format: Format::Json,
                colour: false,
            },
            capacity: 2,
            now_ms: fixed_now,
            origin: test_origin(),
        };
        let sink = LogSink::start_with(options, Box::new(writer));
        let log = sink.worker("web", "web:1");

        log.write(Stream::Stdout, "1\n");
        entered_rx.recv().unwrap();
        // The writer holds line 1; lines 2 and 3 fill the queue, 4 and 5 do not fit.
        log.write(Stream::Stdout, "2\n3\n4\n5\n");
        gate_tx.send(()).unwrap();
        sink.flush();

        let msgs = out.lines_from("\"msg\"");
        assert_eq!(
            msgs,
            [
                r#""msg":"1"}"#,
                r#""msg":"2"}"#,
                r#""msg":"3"}"#,
                r#""msg":"log lines dropped","dropped":2}"#
            ]
        );
        assert_eq!(
            out.lines()[3],
            r#"{"level":40,"time":1700000000123,"pid":4242,"hostname":"testhost","target":"spindle_core::logs","msg":"log lines dropped","dropped":2}"#
        );
        // The crash-report tail still saw every line.
        assert_eq!(log.tail(), ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn flush_waits_for_lines_from_every_handle() {
        let (sink, out) = json_sink();
        let a = sink.worker("a", "a:1");
        let b = sink.clone().worker("b", "b:1");
        for i in 0..100 {
            a.write(Stream::Stdout, &format!("a{i}\n"));
            b.write(Stream::Stdout, &format!("b{i}\n"));
        }
        sink.flush();
        assert_eq!(out.lines().len(), 200);
    }

    /// Tells the test when the writer thread lets go of its output.
    struct NotifyOnDrop {
        out: SharedBuf,
        closed: mpsc::Sender<()>,
    }

    impl Write for NotifyOnDrop {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.out.write(data)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Drop for NotifyOnDrop {
        fn drop(&mut self) {
            let _ = self.closed.send(());
        }
    }

    #[test]
    fn the_writer_drains_and_ends_when_every_handle_is_dropped() {
        let (closed_tx, closed_rx) = mpsc::channel();
        let out = SharedBuf::default();
        let options = Options {
            style: Style {
                format: Format::Json,
                colour: false,
            },
            capacity: 8,
            now_ms: fixed_now,
            origin: test_origin(),
        };
        let sink = LogSink::start_with(
            options,
            Box::new(NotifyOnDrop {
                out: out.clone(),
                closed: closed_tx,
            }),
        );
        let log = sink.worker("a", "a:1");
        drop(sink);
        log.write(Stream::Stdout, "last\n");
        drop(log);
        closed_rx.recv().unwrap();
        assert_eq!(out.lines().len(), 1);
    }
}
