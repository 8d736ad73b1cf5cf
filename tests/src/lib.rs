//! Harness for Spindle's end-to-end tests: it boots the real `spindle` binary on port 0
//! with a generated `spindle.json`, captures its output, and talks to it over real HTTP.
//!
//! - [`TestServer`] builds the config and starts spindle; [`Running`] is the live process
//!   (URLs, logs, signals, exit), killed when dropped.
//! - [`client`]: a small HTTP/1.1 client with one fresh connection per request, so each
//!   failure is classified (refused, reset, timeout).
//! - [`cli`]: runs the operator commands (`spindle ps`, `logs`, …) against a server.
//! - [`datapath_fixture`]: what the `datapath` fixture reports of the requests it saw.
//! - [`load`]: a bounded load generator (keep-alive clients, a request budget and a time
//!   limit) that records every failed request.
//! - [`raw`]: HTTP/1 over a plain TCP stream, for tests about the bytes on the wire.
//! - [`metrics`]: the admin `/metrics` text, its samples by name and label.
//! - [`mesh`]: a GET with a chosen `Host`, query escaping, listening ports, for the mesh tests.
//! - [`trigger`]: which worker a fixture's trigger (crash, hang, …) landed on.
//! - [`websocket`]: a WebSocket handshake over TCP or TLS, and an echo check.
//! - [`LogLine`]: one captured line of stdout or stderr, parsed when it is JSON.
//! - [`workers`]: the worker table of a status document, and waits on it.
//! - [`fixture`], [`spindle_bin`], [`test_node`]: where things are; [`as_test_child`]: how a
//!   child process is spawned (its own group, killed with the test).

pub mod cli;
pub mod client;
pub mod datapath_fixture;
pub mod load;
mod logs;
pub mod mesh;
pub mod metrics;
pub mod otlp;
mod paths;
mod process;
pub mod raw;
mod running;
mod server;
mod tempdir;
pub mod tls;
pub mod trigger;
pub mod websocket;
pub mod workers;

pub use logs::{LogLine, Stream};
pub use paths::{fixture, spindle_bin, test_node};
pub use process::as_test_child;
pub use running::Running;
pub use server::TestServer;
pub use tempdir::TempDir;

use std::time::Duration;

/// How long `start()` waits for the "spindle ready" line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A generous bound for one step of a test (a request, a log line, an exit).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// A port on 127.0.0.1 that was free a moment ago, for the few tests that need to know a
/// port before spindle prints it (an app that never becomes ready prints no URL).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// The value of the first `(name, value)` pair named `name` (a header, a label).
pub(crate) fn first_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
