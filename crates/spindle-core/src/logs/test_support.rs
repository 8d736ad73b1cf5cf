//! Helpers shared by the module's unit tests.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::origin::Origin;
use super::render::Style;
use super::sink::{LogSink, Options, QUEUE_CAPACITY};
use super::Format;

/// The clock every test sink uses: 2023-11-14 22:13:20.123 UTC.
pub(crate) fn fixed_now() -> u64 {
    1_700_000_000_123
}

/// The `pid` and `hostname` every test line carries.
pub(crate) fn test_origin() -> Origin {
    Origin::new(4242, "testhost")
}

/// An in-memory output the test keeps a handle to while the writer thread writes.
#[derive(Clone, Default)]
pub(crate) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// Everything written so far, split into lines.
    pub(crate) fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap();
        String::from_utf8(bytes.clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Each line from its `key` on: the part a test checks, past the labels all lines share.
    pub(crate) fn lines_from(&self, key: &str) -> Vec<String> {
        self.lines()
            .iter()
            .map(|l| l[l.find(key).unwrap()..].to_owned())
            .collect()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink with the fixed clock writing into a buffer.
pub(crate) fn sink(format: Format) -> (LogSink, SharedBuf) {
    let out = SharedBuf::default();
    let options = Options {
        style: Style {
            format,
            colour: false,
        },
        capacity: QUEUE_CAPACITY,
        now_ms: fixed_now,
        origin: test_origin(),
    };
    (LogSink::start_with(options, Box::new(out.clone())), out)
}

/// A JSON sink with the fixed clock writing into a buffer.
pub(crate) fn json_sink() -> (LogSink, SharedBuf) {
    sink(Format::Json)
}
