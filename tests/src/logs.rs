//! Captured output of the process under test: every line of stdout and stderr, in order of
//! arrival, with a watch channel that wakes whoever waits for a new line.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of output; `json` is set when the line is a JSON object.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub stream: Stream,
    pub text: String,
    pub json: Option<Value>,
}

impl LogLine {
    fn new(stream: Stream, text: String) -> LogLine {
        let json = serde_json::from_str::<Value>(&text)
            .ok()
            .filter(Value::is_object);
        LogLine { stream, text, json }
    }

    /// A field of the JSON line.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.json.as_ref()?.get(key)
    }

    /// A string field of the JSON line.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.field(key)?.as_str()
    }

    /// The `time` field (ms since the Unix epoch) of a coordinator line or a pino line.
    pub fn time_ms(&self) -> Option<u64> {
        self.field("time")?.as_u64()
    }

    /// The `msg` field.
    pub fn msg(&self) -> Option<&str> {
        self.str("msg")
    }

    /// A JSON line on stdout whose `msg` is exactly `msg`.
    pub fn is_msg(&self, msg: &str) -> bool {
        self.stream == Stream::Stdout && self.msg() == Some(msg)
    }

    /// A worker began to serve: it became Ready, or a loaded standby was promoted (an app
    /// keeps one by default from its first failure on).
    pub fn is_serving_start(&self) -> bool {
        self.is_msg("worker ready") || self.is_msg("standby worker promoted: serving from now on")
    }

    /// Whether the line is labelled with app `app`: its `app` field, or a `worker` field of
    /// the form `<app>:<n>`.
    pub fn is_app(&self, app: &str) -> bool {
        self.str("app") == Some(app)
            || self
                .str("worker")
                .and_then(|worker| worker.split_once(':'))
                .is_some_and(|(id, _)| id == app)
    }
}

#[derive(Default)]
struct Book {
    lines: Vec<LogLine>,
    open_streams: usize,
}

/// Shared between the reader tasks and the test.
#[derive(Clone)]
pub(crate) struct LogBook {
    book: Arc<Mutex<Book>>,
    changed: Arc<watch::Sender<()>>,
}

/// What a scan of the book found.
pub(crate) enum Scan {
    Found(LogLine),
    /// No match in the lines so far; `closed` when no more can come.
    NotYet {
        closed: bool,
    },
}

impl LogBook {
    pub(crate) fn new() -> LogBook {
        LogBook {
            book: Arc::default(),
            changed: Arc::new(watch::channel(()).0),
        }
    }

    /// Reads `reader` line by line into the book until EOF, on a task of the current runtime.
    pub(crate) fn capture<R>(&self, stream: Stream, reader: R)
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        self.book.lock().unwrap().open_streams += 1;
        let this = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(reader);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let text = text.trim_end_matches(['\n', '\r']).to_string();
                        this.push(LogLine::new(stream, text));
                    }
                }
            }
            this.book.lock().unwrap().open_streams -= 1;
            this.changed.send_replace(());
        });
    }

    fn push(&self, line: LogLine) {
        self.book.lock().unwrap().lines.push(line);
        self.changed.send_replace(());
    }

    /// A receiver that is woken by every new line (and by the end of a stream).
    pub(crate) fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    /// Looks at lines from `*cursor` on, advancing it past the lines it saw.
    pub(crate) fn scan(&self, cursor: &mut usize, pred: &mut impl FnMut(&LogLine) -> bool) -> Scan {
        let book = self.book.lock().unwrap();
        while *cursor < book.lines.len() {
            let line = &book.lines[*cursor];
            *cursor += 1;
            if pred(line) {
                return Scan::Found(line.clone());
            }
        }
        Scan::NotYet {
            closed: book.open_streams == 0,
        }
    }

    pub(crate) fn lines(&self) -> Vec<LogLine> {
        self.book.lock().unwrap().lines.clone()
    }

    pub(crate) fn len(&self) -> usize {
        self.book.lock().unwrap().lines.len()
    }

    /// Every line so far, prefixed with its stream, for failure messages.
    pub(crate) fn dump(&self) -> String {
        let book = self.book.lock().unwrap();
        let mut out = String::new();
        for line in &book.lines {
            let tag = match line.stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            let _ = writeln!(out, "  {tag}| {}", line.text);
        }
        if book.lines.is_empty() {
            out.push_str("  (no output)\n");
        }
        out
    }
}
