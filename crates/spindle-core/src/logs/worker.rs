//! One worker's stdout/stderr: chunks in, labelled log lines out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::labels::Labels;
use super::line_buffer::LineBuffer;
use super::sink::Shared;
use super::Stream;

/// Complete lines kept for crash reports: enough to show the stack trace and the lines
/// leading up to it.
const TAIL_LINES: usize = 50;

/// Splits a worker's output chunks into lines and hands them to the sink. Cheap to call
/// from a Node worker thread: it never blocks on I/O, it only enqueues.
pub struct WorkerLog {
    sink: Arc<Shared>,
    labels: Labels,
    stdout: Mutex<LineBuffer>,
    stderr: Mutex<LineBuffer>,
    tail: Mutex<VecDeque<String>>,
}

impl WorkerLog {
    pub(crate) fn new(sink: Arc<Shared>, labels: Labels) -> WorkerLog {
        WorkerLog {
            sink,
            labels,
            stdout: Mutex::default(),
            stderr: Mutex::default(),
            tail: Mutex::new(VecDeque::with_capacity(TAIL_LINES)),
        }
    }

    /// Adds a chunk of `stream` output, split anywhere, and sends every line it completes.
    pub fn write(&self, stream: Stream, chunk: &str) {
        let mut lines = Vec::new();
        // Held only while splitting; rendering and sending happen after it is released.
        lock(self.buffer(stream)).push(chunk, &mut lines);
        self.emit(stream, lines);
    }

    /// Emits any partial line still buffered (called when the worker exits).
    pub fn finish(&self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = lock(self.buffer(stream)).finish();
            if let Some(line) = partial {
                self.emit(stream, vec![line]);
            }
        }
    }

    /// The last complete lines of this worker (raw text, both streams in order of
    /// arrival), up to 50, for crash reports.
    pub fn tail(&self) -> Vec<String> {
        lock(&self.tail).iter().cloned().collect()
    }

    fn buffer(&self, stream: Stream) -> &Mutex<LineBuffer> {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    fn emit(&self, stream: Stream, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        let time = (self.sink.now_ms)();
        for line in &lines {
            self.sink.emit(Some(&self.labels.app), |style| {
                style.worker_line(&self.labels, stream, line, time)
            });
        }
        let mut tail = lock(&self.tail);
        let skip = lines.len().saturating_sub(TAIL_LINES);
        for line in lines.into_iter().skip(skip) {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

/// Locks even if another thread panicked while holding the lock: the data is plain
/// text, and a worker must not fail over its logs.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{json_sink, sink};
    use super::super::Format;
    use super::*;

    #[test]
    fn worker_log_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<WorkerLog>();
        assert_send_sync::<super::super::LogSink>();
    }

    #[test]
    fn chunks_become_labelled_lines() {
        let (sink, out) = json_sink();
        let log = sink.worker("web", "web:1");
        log.write(Stream::Stdout, "hel");
        log.write(Stream::Stdout, "lo wo");
        log.write(Stream::Stdout, "rld\nsecond\nthi");
        log.write(Stream::Stdout, "rd\n");
        sink.flush();
        let prefix = r#"{"level":30,"time":1700000000123,"pid":4242,"hostname":"testhost","name":"web","app":"web","worker":"web:1","stream":"stdout","msg":"#;
        assert_eq!(
            out.lines(),
            [
                format!(r#"{prefix}"hello world"}}"#),
                format!(r#"{prefix}"second"}}"#),
                format!(r#"{prefix}"third"}}"#)
            ]
        );
    }

    #[test]
    fn streams_are_buffered_separately() {
        let (sink, out) = json_sink();
        let log = sink.worker("web", "web:1");
        log.write(Stream::Stdout, "out ");
        log.write(Stream::Stderr, "err\n");
        log.write(Stream::Stdout, "line\n");
        sink.flush();
        assert_eq!(
            out.lines(),
            [
                r#"{"level":50,"time":1700000000123,"pid":4242,"hostname":"testhost","name":"web","app":"web","worker":"web:1","stream":"stderr","msg":"err"}"#,
                r#"{"level":30,"time":1700000000123,"pid":4242,"hostname":"testhost","name":"web","app":"web","worker":"web:1","stream":"stdout","msg":"out line"}"#,
            ]
        );
    }

    #[test]
    fn pino_lines_pass_through_with_labels() {
        let (sink, out) = json_sink();
        let log = sink.worker("api", "api:2");
        log.write(
            Stream::Stdout,
            "{\"level\":30,\"time\":1,\"msg\":\"a\"}\n{\"level\":40,",
        );
        log.write(Stream::Stdout, "\"time\":2,\"msg\":\"b\"}\r\n");
        sink.flush();
        assert_eq!(
            out.lines(),
            [
                r#"{"app":"api","worker":"api:2","name":"api","pid":4242,"hostname":"testhost","level":30,"time":1,"msg":"a"}"#,
                r#"{"app":"api","worker":"api:2","name":"api","pid":4242,"hostname":"testhost","level":40,"time":2,"msg":"b"}"#,
            ]
        );
    }

    #[test]
    fn finish_flushes_partial_lines() {
        let (sink, out) = json_sink();
        let log = sink.worker("web", "web:1");
        log.write(Stream::Stderr, "Error: boom\n    at main");
        log.write(Stream::Stdout, "bye");
        log.finish();
        log.finish();
        sink.flush();
        let msgs = out.lines_from("\"stream\"");
        assert_eq!(
            msgs,
            [
                r#""stream":"stderr","msg":"Error: boom"}"#,
                r#""stream":"stdout","msg":"bye"}"#,
                r#""stream":"stderr","msg":"    at main"}"#,
            ]
        );
    }

    #[test]
    fn tail_keeps_the_last_fifty_lines() {
        let (sink, _out) = json_sink();
        let log = sink.worker("web", "web:1");
        assert!(log.tail().is_empty());
        for i in 0..60 {
            log.write(Stream::Stdout, &format!("line {i}\n"));
        }
        log.write(Stream::Stderr, "crash\npartial");
        let tail = log.tail();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail[0], "line 11");
        assert_eq!(tail[TAIL_LINES - 1], "crash");
        log.finish();
        assert_eq!(log.tail().last().map(String::as_str), Some("partial"));

        // A single write of more than fifty lines keeps only its last fifty.
        let many: String = (0..70).map(|i| format!("m{i}\n")).collect();
        log.write(Stream::Stdout, &many);
        let tail = log.tail();
        assert_eq!(
            (tail.len(), tail[0].as_str(), tail[49].as_str()),
            (50, "m20", "m69")
        );
    }

    #[test]
    fn pretty_sink_renders_worker_output() {
        let (sink, out) = sink(Format::Pretty);
        let log = sink.worker("web", "web:1");
        log.write(
            Stream::Stdout,
            "{\"level\":20,\"time\":1700000000000,\"msg\":\"query\",\"ms\":3}\nplain\n",
        );
        log.write(Stream::Stderr, "warned\n");
        sink.flush();
        assert_eq!(
            out.lines(),
            [
                "22:13:20.000 DEBUG web:1 │ query ms=3",
                "22:13:20.123 INFO  web:1 │ plain",
                "22:13:20.123 ERROR web:1 │ warned",
            ]
        );
    }
}
