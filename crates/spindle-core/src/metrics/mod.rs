//! Prometheus metrics, rendered from counters the core already holds.
//!
//! - [`http`]: what the ingress counts per app (requests, latency, rejections, retries).
//! - [`histogram`]: the lock-free cumulative histogram behind the latency figures.
//! - [`process`]: `process_*` figures read from /proc.
//! - [`text`]: the Prometheus and OpenMetrics exposition formats.
//! - [`render`]: every family, from a status snapshot and the counters.

pub mod histogram;
pub mod http;
pub mod process;
pub mod render;
pub mod text;

pub use http::HttpMetrics;
pub use render::{render, Input};
pub use text::Format;
