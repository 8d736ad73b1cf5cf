//! The data path: every request from a client, a mesh caller or the management API to a
//! worker and back.
//!
//! - [`connection`]: one client connection, from its first byte to its close; the public
//!   listener ([`crate::ingress`]) and the mesh ([`crate::mesh`]) are thin loops over it.
//! - [`exchange`]: one request's trip: claim a worker, send, stream the body, retry.
//! - [`answer`]: the worker's answer, followed and written to the client on the worker's
//!   own thread; [`client`]: the client socket both threads share; [`tls`]: a client
//!   connection over TLS, which only its task writes.
//! - [`http1`]: request and response heads and chunked bodies, parsed by us; [`http2`]:
//!   HTTP/2 connections, each stream served as an HTTP/1.1 request.
//! - [`pipe`], [`vconn`], [`wire`]: the way to a worker thread, through memory.
//! - [`app`], [`apps`], [`prefixes`]: which app a request is for, and each app's limits.
//! - [`ready`], [`endpoint`], [`pick`], [`queue`]: which worker takes it, or where it waits.
//! - [`reply`]: the answers the core gives itself.
//! - [`watchdog`]: each connection's deadlines, on one timer.
//! - [`inject`]: requests from the management API, sent as a client would.

pub mod answer;
pub mod app;
pub mod apps;
pub mod client;
pub mod connection;
pub mod endpoint;
pub mod exchange;
pub mod http1;
pub mod http2;
pub mod inject;
pub mod pick;
pub mod pipe;
pub mod prefixes;
pub mod queue;
pub mod ready;
pub mod reply;
pub mod tls;
pub mod vconn;
pub mod watchdog;
pub mod wire;
