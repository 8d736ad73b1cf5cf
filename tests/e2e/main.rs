//! End-to-end tests: the real `spindle` binary, real Node apps from `tests/fixtures`, real
//! HTTP. Build the workspace first (`cargo build --workspace`); `scripts/test` does all of it.
//! `SPINDLE_TEST_NODE` picks the Node binary, `SPINDLE_BIN` the spindle binary.

mod app_metrics;
mod bad_config;
mod basics;
mod broken_app;
mod cli;
mod control_cli;
mod crash;
mod datapath;
mod dev_mode;
mod docs;
mod edge;
mod frameworks;
mod globals;
mod hot_apps;
mod http2;
mod install;
mod js_units;
mod let_it_fail;
mod mesh;
mod next_watt;
mod no_config;
mod observability;
mod routes;
mod scaling;
mod shutdown;
mod streaming;
mod telemetry;
mod tls;
mod watt_projects;
mod websocket;
