//! Logs: worker stdout/stderr and the coordinator's `tracing` events, written as one
//! stream of pino-compatible JSON lines (or a pretty form for terminals).
//!
//! Workers hand over raw output chunks; lines are assembled per worker, labelled with
//! the app and worker, rendered on the producing thread, and queued to a single writer
//! thread that owns the process stdout. Nothing on a worker's path waits for I/O.
//!
//! Parts:
//! - `sink`: [`LogSink`], the bounded queue and the writer thread, dropped-line
//!   accounting.
//! - `worker`: [`WorkerLog`], one worker's streams and its tail for crash reports.
//! - `line_buffer`: reassembling lines from arbitrarily split chunks, 64 KiB cap.
//! - `layer`: the `tracing` layer for coordinator events and span fields.
//! - `render`, `json`, `pretty`: the two output formats.
//! - `pino`: recognising lines a worker already logged with pino (numeric or named
//!   levels).
//! - `tap`: recent lines and a live feed, always JSON, for the management API.
//! - `origin`: the process's `pid` and `hostname`, on every line as pino has them.
//! - `labels`, `field`, `level`, `escape`: small shared pieces.

mod escape;
mod field;
mod json;
mod labels;
mod layer;
mod level;
mod line_buffer;
mod origin;
mod pino;
mod pretty;
mod render;
mod sink;
mod tap;
#[cfg(test)]
mod test_support;
mod worker;

pub use sink::LogSink;
pub use tap::{TapLine, RECENT_LINES};
pub use worker::WorkerLog;

/// Which output stream of a worker a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Plain lines are logged at info (30).
    Stdout,
    /// Plain lines are logged at error (50).
    Stderr,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One pino-compatible JSON object per line: for log shippers and `pino-pretty`.
    Json,
    /// One coloured, human-readable line per log: for terminals and `--pretty`.
    Pretty,
}
