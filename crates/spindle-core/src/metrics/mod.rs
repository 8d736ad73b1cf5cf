//! Prometheus metrics, rendered from counters the core already holds and from what each
//! worker last published.
//!
//! - [`http`]: what the ingress counts per app (requests by method and status code,
//!   latency, rejections, retries).
//! - [`histogram`]: the lock-free cumulative histogram behind the latency figures, and
//!   quantiles estimated from it.
//! - [`process`]: `process_*` figures, and a thread's CPU time, read from /proc.
//! - [`published`]: what a worker publishes about itself on its own schedule (runtime
//!   figures, its app's prom-client registry), read at scrape time without waiting on it.
//! - [`runtime`]: the per-worker runtime families rendered from those figures.
//! - [`exposition`]: reading an app's registry text; [`merge`]: merging apps' families
//!   across workers with their labels.
//! - [`text`]: the Prometheus and OpenMetrics exposition formats.
//! - [`render`]: every family, from a status snapshot, the counters and the publications.

pub mod exposition;
pub mod histogram;
pub mod http;
pub mod merge;
pub mod process;
pub mod published;
pub mod render;
pub mod runtime;
pub mod text;

pub use http::HttpMetrics;
pub use published::WorkerFigures;
pub use render::{render, Input, LabelNames};
pub use text::Format;
