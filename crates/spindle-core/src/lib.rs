//! Spindle's coordinator: everything that runs on Rust threads, with no Node-API in sight.
//!
//! - [`core`]: start-up in three steps (bind every socket, build the components, spawn
//!   them), one app's wiring (at start and when added live), and the shutdown sequence.
//! - [`supervisor`]: the one owner of the worker table; lifecycle decisions.
//! - [`host`]: what the core asks of the thread factory (the JS main thread).
//! - [`datapath`]: every request's trip from a client to a worker thread and back: HTTP/1
//!   parsing, worker choice, the queue, retries, and the in-memory link to the workers.
//! - [`ingress`], [`mesh`]: the public listener and the app-to-app sockets, thin loops
//!   over the data path.
//! - [`listener`]: the one accept loop they and the admin servers run, with back-off and
//!   the shutdown signal.
//! - [`hot`]: adding and removing apps in a running server.
//! - [`admin`]: probes and metrics on their own thread and runtime.
//! - [`control`]: the management API on a private Unix socket, on the admin thread.
//! - [`status`], [`state`]: published snapshots and typed lifecycle.
//! - [`health`], [`probe`]: samples of each worker's loop and heap read from outside, and
//!   the pure policy that judges them.
//! - [`scaler`]: how many workers each dynamic app should have, from its ELU, within a budget.
//! - [`backoff`]: restart delays for crash loops, and waits after failed accepts.
//! - [`logs`]: worker output and coordinator events as labelled lines.
//! - [`metrics`]: Prometheus metrics rendered from what the core holds and what each worker
//!   last published about itself (runtime figures, its app's prom-client registry).
//! - [`telemetry`]: OpenTelemetry spans of every request, exported over OTLP/HTTP.
//! - [`watch`]: dev mode's file watcher.
//! - [`rundir`]: the private directory for worker sockets.

pub mod admin;
pub mod backoff;
pub mod control;
pub mod core;
pub mod datapath;
pub mod health;
pub mod host;
pub mod hot;
pub mod ingress;
pub mod listener;
pub mod logs;
pub mod mesh;
pub mod metrics;
pub mod probe;
pub mod rundir;
pub mod scaler;
pub mod state;
pub mod status;
pub mod supervisor;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod watch;
mod worker_id;

pub use crate::core::{Core, CoreOptions, StartError};
pub use host::{Serve, WorkerHost, WorkerSpec};
pub use state::{Phase, WorkerState};
pub use worker_id::{InvalidWorkerId, WorkerId};
