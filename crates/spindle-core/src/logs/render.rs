//! Chooses the output form of a log line.
//!
//! Lines are rendered on the thread that produced them (a Node worker, or whichever
//! thread emitted a `tracing` event), so the single writer thread only copies bytes and
//! formatting cost spreads across cores.

use super::field::FieldValue;
use super::labels::Labels;
use super::origin::Origin;
use super::{json, pretty, Format, Stream};

/// A coordinator log record: a `tracing` event, or the sink's own notices.
pub(crate) struct Event<'a> {
    /// pino level number.
    pub(crate) level: u64,
    /// Milliseconds since the Unix epoch.
    pub(crate) time: u64,
    /// The process's `pid` and `hostname`.
    pub(crate) origin: &'a Origin,
    pub(crate) target: &'a str,
    pub(crate) msg: &'a str,
    pub(crate) fields: &'a [(&'static str, FieldValue)],
}

/// The output format plus whether pretty output may use ANSI colours.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) format: Format,
    pub(crate) colour: bool,
}

impl Style {
    /// Renders one complete worker output line, newline included.
    pub(crate) fn worker_line(
        self,
        labels: &Labels,
        stream: Stream,
        line: &str,
        time: u64,
    ) -> String {
        let mut out = String::with_capacity(line.len() + 96);
        match self.format {
            Format::Json => json::worker_line(&mut out, labels, stream, line, time),
            Format::Pretty => {
                pretty::worker_line(&mut out, labels, stream, line, time, self.colour)
            }
        }
        out.push('\n');
        out
    }

    /// Renders one coordinator event, newline included.
    pub(crate) fn event(self, event: &Event<'_>) -> String {
        let mut out = String::with_capacity(event.msg.len() + 96);
        match self.format {
            Format::Json => json::event(&mut out, event),
            Format::Pretty => pretty::event(&mut out, event, self.colour),
        }
        out.push('\n');
        out
    }
}
