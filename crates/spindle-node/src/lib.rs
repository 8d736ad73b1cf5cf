//! The Node-API addon: the only crate that talks to Node. It converts and delegates;
//! every decision lives in `spindle-core`.
//!
//! - In the JS main thread: [`start`], [`shutdown`], [`close`] and [`worker_exited`];
//!   the main thread is the thread factory, driven through [`host::JsHost`].
//! - In each worker thread: a [`WorkerLink`] reports readiness, carries the worker's
//!   stdout/stderr to the core without passing through the main thread, publishes the
//!   worker's runtime figures and app metrics, and is the worker's end of its [`Pipe`],
//!   which the functions in [`vconn`] use.
//!
//! Every export uses `catch_unwind`: a panic crossing into Node would abort the process.
//! The addon installs no signal handler; Node owns signals and the main thread calls
//! [`shutdown`].

// Node-API is a C interface: calling it, and what napi-derive generates, is unsafe code.
#![allow(unsafe_code)]

mod host;
mod thread_name;
mod uv;
pub mod vconn;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use spindle_core::datapath::pipe::{Pipe, Wake};
use spindle_core::logs::{Format, LogSink, Stream, WorkerLog};
use spindle_core::probe::Probe;
use spindle_core::{Core, CoreOptions, WorkerId};
use tracing_subscriber::layer::SubscriberExt;

/// One core per process, shared by the main thread and every worker thread (they all
/// load this same library).
static CORE: Mutex<Option<Arc<Core>>> = Mutex::new(None);

fn core() -> Result<Arc<Core>> {
    spindle_core::sync::lock(&CORE)
        .clone()
        .ok_or_else(|| Error::from_reason("spindle core is not running in this process"))
}

#[napi(object)]
pub struct StartOptions {
    /// Explicit config file, or none to look in `dir`.
    pub config: Option<String>,
    /// The directory to serve.
    pub dir: String,
    /// Human-readable coloured logs instead of JSON lines.
    pub pretty: Option<bool>,
    /// `process.version`, for the `nodejs_version_info` metric.
    pub node_version: Option<String>,
    /// Dev mode: restart an app when its files change.
    pub dev: Option<bool>,
}

#[napi(object)]
pub struct Started {
    pub url: String,
    pub admin: Option<String>,
    /// The public port serves TLS: `SIGHUP` reloads its certificates.
    pub tls: bool,
}

/// Loads the config and starts the core. `host` receives the core's requests to the
/// thread factory as JSON strings (`{op: "spawn" | "stop" | "terminate" | "exit", …}`).
#[napi(catch_unwind)]
pub fn start(
    options: StartOptions,
    host: ThreadsafeFunction<String, (), String, Status, false>,
) -> Result<Started> {
    let mut slot = spindle_core::sync::lock(&CORE);
    if slot.is_some() {
        return Err(Error::from_reason(
            "spindle core already started in this process",
        ));
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config = spindle_config::load(&spindle_config::LoadOptions {
        config: options.config.map(PathBuf::from),
        dir: PathBuf::from(options.dir),
        env,
    })
    .map_err(|e| Error::from_reason(e.to_string()))?;
    // Next.js apps are served from their build, made for the path they are served under.
    spindle_config::next::check_startable(&config, options.dev.unwrap_or(false))
        .map_err(Error::from_reason)?;

    let format = if options.pretty.unwrap_or(false) {
        Format::Pretty
    } else {
        Format::Json
    };
    let logs = LogSink::start(format, Box::new(std::io::stdout()));
    let level = log_level(&config);
    let subscriber = tracing_subscriber::registry().with(logs.tracing_layer(level));
    // A second start in one process was refused above, so this is the first install.
    let _ = tracing::subscriber::set_global_default(subscriber);

    let core_options = CoreOptions {
        node_version: options.node_version,
        dev: options.dev.unwrap_or(false) || config.watch,
        // For measurements (bench/cpu-per-request): the default is one per four CPUs.
        core_threads: std::env::var("SPINDLE_CORE_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0),
        env: std::env::vars().collect(),
    };
    let core = Core::start(
        &config,
        Arc::new(host::JsHost::new(host)),
        logs,
        core_options,
    )
    .map_err(|e| Error::from_reason(e.to_string()))?;
    let scheme = if core.serves_tls() { "https" } else { "http" };
    let started = Started {
        url: format!("{scheme}://{}", core.ingress_addr),
        admin: core.admin_addr.map(|a| format!("http://{a}")),
        tls: core.serves_tls(),
    };
    *slot = Some(core);
    Ok(started)
}

fn log_level(config: &spindle_config::Config) -> tracing_subscriber::filter::LevelFilter {
    use spindle_config::LogLevel;
    use tracing_subscriber::filter::LevelFilter;
    match config.logger.level {
        LogLevel::Trace => LevelFilter::TRACE,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error | LogLevel::Fatal => LevelFilter::ERROR,
        LogLevel::Silent => LevelFilter::OFF,
    }
}

/// Begins the graceful shutdown; the core asks the host to exit when it is done.
#[napi(catch_unwind)]
pub fn shutdown() -> Result<()> {
    core()?.shutdown();
    Ok(())
}

/// Stops the core's threads. The main thread calls this right before `process.exit`.
#[napi(catch_unwind)]
pub fn close() -> Result<()> {
    if let Some(core) = spindle_core::sync::lock(&CORE).take() {
        core.close();
    }
    Ok(())
}

/// The main thread saw a worker's `exit` event.
#[napi(catch_unwind)]
pub fn worker_exited(id: String, code: i32, error: Option<String>) -> Result<()> {
    let id = parse_id(&id)?;
    if let Ok(core) = core() {
        core.worker_exited(id, code, error);
    }
    Ok(())
}

fn parse_id(id: &str) -> Result<WorkerId> {
    id.parse()
        .map_err(|e: spindle_core::InvalidWorkerId| Error::from_reason(e.to_string()))
}

/// Reads the public port's keys and certificates again (SIGHUP); false when they were not
/// reloaded (the error is logged and the ones in use stay).
#[napi(catch_unwind)]
pub fn reload_certificates() -> Result<bool> {
    Ok(core()?.reload_certificates())
}

/// Rolling restart of one app, or of every app (SIGUSR2).
#[napi(catch_unwind)]
pub fn restart(app: Option<String>) -> Result<()> {
    core()?.restart(app.as_deref());
    Ok(())
}

/// A worker thread's line to the core.
#[napi]
pub struct WorkerLink {
    id: WorkerId,
    core: Arc<Core>,
    log: Option<Arc<WorkerLog>>,
    probe: Arc<Probe>,
    pipe: Arc<Pipe>,
}

/// Wakes the worker's loop to take its inbox. Weak: it never keeps a finished worker
/// alive, and a call after the worker's environment is gone is refused by napi, not made.
struct JsWake(ThreadsafeFunction<(), (), (), Status, false, true>);

impl Wake for JsWake {
    fn wake(&self) {
        let _ = self.0.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

#[napi]
impl WorkerLink {
    /// Called on the worker's own thread: hands the core this thread's event loop, and
    /// `on_inbox`, which the core calls (on this thread) when requests wait in its inbox.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: Env,
        id: String,
        on_inbox: ThreadsafeFunction<(), (), (), Status, false, true>,
    ) -> Result<Self> {
        let id = parse_id(&id)?;
        let core = core()?;
        thread_name::set(&format!("spindle-w-{id}"));
        let log = core.worker_log(&id);
        let slot = uv::LoopSlot::new(env.get_uv_event_loop()?.cast());
        let pipe = Pipe::new(id.clone(), Box::new(JsWake(on_inbox)));
        let probe = Arc::new(Probe::new(Box::new(slot.clone())));
        // The core reads this thread's CPU time from /proc by its id, even while its loop
        // is stuck.
        probe
            .figures()
            .set_thread(spindle_core::metrics::process::current_tid());
        let (cleanup, detach, figures) = (slot, pipe.clone(), probe.figures().clone());
        // Before the loop is freed: no core thread reads it, or calls into this thread,
        // after this; nor reads the thread's CPU time under an id the system may reuse.
        env.add_env_cleanup_hook((), move |_| {
            vconn::set_pipe(None);
            detach.detach();
            cleanup.clear();
            figures.set_thread(None);
        })?;
        vconn::set_pipe(Some(pipe.clone()));
        core.worker_attached(id.clone(), probe.clone());
        Ok(WorkerLink {
            id,
            core,
            log,
            probe,
            pipe,
        })
    }

    /// The worker's V8 heap, reported from its own thread on a timer.
    #[napi(catch_unwind)]
    pub fn heap(&self, used: f64, total: f64, limit: f64) {
        self.probe
            .report_heap(used as u64, total as u64, limit as u64);
    }

    /// The worker's runtime figures as JSON (event-loop delay, GC, handles, heap spaces),
    /// published from its own thread every second; a scrape reads the latest.
    #[napi(catch_unwind)]
    pub fn runtime_metrics(&self, json: String) -> Result<()> {
        self.probe
            .figures()
            .publish_runtime(&json)
            .map_err(|e| Error::from_reason(format!("invalid runtime figures: {e}")))
    }

    /// The app's prom-client registry in the Prometheus text format, published from the
    /// worker's own thread every few seconds; a scrape merges the latest.
    #[napi(catch_unwind)]
    pub fn app_metrics(&self, text: String) {
        self.probe.figures().publish_app(&text);
    }

    /// The app's server is listening: requests may come.
    #[napi(catch_unwind)]
    pub fn ready(&self) {
        self.core.worker_ready(self.id.clone(), self.pipe.clone());
    }

    /// The worker's `process` emitted 'exit': called on its own thread, before Node tears
    /// the thread down, so the core stops routing to it (and promotes a standby) without
    /// waiting for the thread's end.
    #[napi(catch_unwind)]
    pub fn exiting(&self) {
        self.core.worker_exiting(self.id.clone());
    }

    /// A chunk the app wrote to stdout (1) or stderr (2).
    #[napi(catch_unwind)]
    pub fn write(&self, fd: u32, chunk: String) {
        if let Some(log) = &self.log {
            log.write(
                if fd == 2 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                &chunk,
            );
        }
    }
}
