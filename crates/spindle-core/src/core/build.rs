//! Start-up, step two: each component made from its config section and the sockets bound
//! in step one. Nothing is served and no task is spawned here; the runtime is made, idle.

use std::collections::HashMap;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_config::Config;
use tokio::sync::{mpsc, watch};

use super::bind::Bound;
use super::{AppWiring, Core, CoreOptions, StartError};
use crate::admin::{self, Admin};
use crate::control::{Control, Meta};
use crate::datapath::apps::Apps;
use crate::datapath::connection::Settings;
use crate::datapath::prefixes::PrefixRoutes;
use crate::datapath::ready::ReadyWorkers;
use crate::host::WorkerHost;
use crate::hot::HotApps;
use crate::ingress::{self, PublicRoute};
use crate::logs::LogSink;
use crate::mesh::{self, Mesh};
use crate::status::Status;
use crate::supervisor::{Event, Supervisor, SupervisorParts, Urls, WorkerLogs};
use crate::tls::Tls;
use crate::Phase;

/// The core, built: what [`super::spawn`] starts.
pub(super) struct Built {
    /// Its runtime and its ingress task are [`super::spawn`]'s to fill in.
    pub core: Core,
    pub runtime: tokio::runtime::Runtime,
    pub wiring: AppWiring,
    /// Each configured app's mesh socket.
    pub mesh: Vec<mesh::Socket>,
    pub admin: Option<(std::net::TcpListener, Admin)>,
    pub control: Option<(UnixListener, Control)>,
    pub ingress: Ingress,
    pub supervisor: Supervisor,
    pub events: mpsc::UnboundedReceiver<Event>,
    /// `spindle stop`, from the management API.
    pub stop_requests: mpsc::UnboundedReceiver<()>,
    /// Dev mode: each app's folder, watched for changes.
    pub watched: Option<Vec<(Arc<str>, PathBuf)>>,
}

/// The public port and how it serves.
pub(super) struct Ingress {
    pub listener: std::net::TcpListener,
    pub route: Arc<PublicRoute>,
    pub settings: Settings,
    pub max_connections: usize,
    /// `gracefulShutdown.runtime`: how long open connections may take to finish.
    pub deadline: Duration,
}

pub(super) fn build(
    config: &Config,
    bound: Bound,
    host: Arc<dyn WorkerHost>,
    logs: LogSink,
    options: CoreOptions,
) -> Result<Built, StartError> {
    let CoreOptions {
        node_version,
        dev,
        core_threads,
        env,
    } = options;
    let Bound {
        ingress,
        ingress_addr,
        admin,
        admin_addr,
        rundir,
        mesh: mesh_sockets,
        control,
    } = bound;
    let tls = config
        .server
        .https
        .as_ref()
        .map(|https| Tls::new(https, config.server.http2))
        .transpose()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(core_threads.unwrap_or_else(default_core_threads))
        .thread_name("spindle-core")
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;

    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (routes_tx, routes_rx) = watch::channel(Arc::new(ReadyWorkers::default()));
    let (status_tx, status_rx) = watch::channel(Arc::new(Status::new(Phase::Starting, vec![])));
    let worker_logs = WorkerLogs::default();
    let telemetry = config.telemetry.as_ref().and_then(|t| {
        crate::telemetry::Telemetry::start(t)
            .inspect_err(|e| tracing::error!(error = %e, "no traces will be exported"))
            .ok()
    });

    // One per app: the ingress reaches the entrypoint's (and routed apps'), the mesh
    // and the management API any app's.
    let apps = Apps::default();
    let wiring = AppWiring {
        ready: routes_rx,
        mesh: Arc::new(mesh_of(config, &apps, telemetry.clone())),
        mesh_listeners: mesh::Listeners::default(),
        rundir: rundir.clone(),
        runtime: runtime.handle().clone(),
    };
    for a in &config.applications {
        apps.insert(wiring.proxy(a));
    }
    let app = |id: &str| apps.get(id).expect("every configured app is registered");
    let queues = config
        .applications
        .iter()
        .map(|a| (a.id.clone(), app(&a.id).queue.clone()))
        .collect();
    let prefixes = Arc::new(PrefixRoutes::new(
        config
            .server
            .routes
            .iter()
            .map(|r| (r.prefix.clone(), app(&r.app)))
            .collect(),
        app(&config.entrypoint),
    ));

    let labels: Vec<(String, String)> = config
        .metrics
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let names = || crate::metrics::LabelNames {
        app: config.metrics.application_label.clone(),
        worker: config.metrics.worker_label.clone(),
    };
    let admin = admin.map(|listener| {
        let state = Admin {
            status: status_rx.clone(),
            apps: apps.clone(),
            node_version: node_version.clone(),
            endpoint: config.metrics.endpoint.clone(),
            authorization: config
                .metrics
                .auth
                .as_ref()
                .map(|a| admin::basic_authorization(&a.username, &a.password)),
            labels: labels.clone(),
            names: names(),
        };
        (listener, state)
    });
    let (stop_tx, stop_rx) = mpsc::unbounded_channel();
    let control = control.map(|listener| {
        let control = Control {
            meta: Meta {
                pid: std::process::id(),
                config: config.source.clone(),
                name: config
                    .root
                    .file_name()
                    .map_or_else(|| "spindle".into(), |n| n.to_string_lossy().into_owned()),
                node: node_version,
                started: std::time::Instant::now(),
                url: format!("{scheme}://{ingress_addr}"),
                admin: admin_addr.map(|a| format!("http://{a}")),
            },
            status: status_rx.clone(),
            apps: apps.clone(),
            labels,
            names: names(),
            events: events_tx.clone(),
            stop: stop_tx,
            logs: logs.clone(),
            hot: Arc::new(HotApps {
                config: Arc::new(config.clone()),
                env,
                apps: apps.clone(),
                wiring: wiring.clone(),
                events: events_tx.clone(),
                prefixes: prefixes.clone(),
            }),
        };
        (listener, control)
    });

    let mut edge = ingress::Edge::of(&config.server);
    edge.settings.telemetry = telemetry.clone();
    if tls.is_some() {
        // What the apps are told: the client's scheme (unless a trusted proxy says
        // otherwise).
        edge.settings.proto = "https";
    }
    let ingress = Ingress {
        listener: ingress,
        route: Arc::new(PublicRoute(prefixes)),
        settings: edge.settings,
        max_connections: edge.max_connections,
        deadline: config.graceful_shutdown.runtime,
    };

    let parts = SupervisorParts {
        host: host.clone(),
        rundir: rundir.clone(),
        mesh_listeners: wiring.mesh_listeners.clone(),
        apps: config.applications.clone(),
        entrypoint: config.entrypoint.clone(),
        base_paths: base_paths(&config.server.routes),
        log_level: config.logger.level.as_str(),
        logs: logs.clone(),
        worker_logs: worker_logs.clone(),
        urls: Urls {
            ingress: format!("{scheme}://{ingress_addr}"),
            admin: admin_addr.map(|a| format!("http://{a}")),
        },
        application_grace: config.graceful_shutdown.application,
        queues,
        scaling: config.scaling.clone(),
    };
    let supervisor = Supervisor::new(parts, events_tx.clone(), routes_tx, status_tx);
    let watched = dev.then(|| {
        config
            .applications
            .iter()
            .map(|a| (Arc::from(a.id.as_str()), a.path.clone()))
            .collect()
    });

    let core = Core {
        events: events_tx,
        status: status_rx,
        worker_logs,
        host,
        logs,
        runtime: Mutex::new(None),
        drain: watch::Sender::new(false),
        ingress_task: Mutex::new(None),
        closing: watch::Sender::new(false),
        mesh_listeners: wiring.mesh_listeners.clone(),
        shutting_down: AtomicBool::new(false),
        application_grace: config.graceful_shutdown.application,
        rundir,
        telemetry,
        ingress_addr,
        admin_addr,
        tls,
    };
    Ok(Built {
        core,
        runtime,
        wiring,
        mesh: mesh_sockets,
        admin,
        control,
        ingress,
        supervisor,
        events: events_rx,
        stop_requests: stop_rx,
        watched,
    })
}

/// What every mesh socket shares: the apps, `policies.deny`, the timeouts.
fn mesh_of(
    config: &Config,
    apps: &Apps,
    telemetry: Option<Arc<crate::telemetry::Telemetry>>,
) -> Mesh {
    Mesh {
        telemetry,
        apps: apps.clone(),
        deny: config
            .applications
            .iter()
            .flat_map(|from| {
                config
                    .applications
                    .iter()
                    .map(move |to| (from.id.clone(), to.id.clone()))
            })
            .filter(|(from, to)| config.policies.denies(from, to))
            .collect(),
        timeout: config.application_timeout,
        timeouts: ingress::Edge::of(&config.server).settings.timeouts,
    }
}

/// Threads for the data plane unless told: one per four CPUs, at least one: a core thread carries ≈170k small requests
/// a second on the reference VM, and every thread beyond what the load needs only adds
/// wake-ups between core threads that preempt the workers. Measured on 2 CPUs (hello and
/// a 100 µs handler, 2 workers): one thread gave 4% more requests on hello and 6% more on
/// the 100 µs app than two, and the core's CPU per request fell from 38 to 27 µs on the
/// latter (docs/benchmarks.md).
pub fn default_core_threads() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus.div_ceil(4)
}

/// Each routed app's prefix; an app under several prefixes is told the first one listed.
fn base_paths(routes: &[spindle_config::Route]) -> HashMap<String, String> {
    let mut paths = HashMap::new();
    for route in routes {
        paths
            .entry(route.app.clone())
            .or_insert_with(|| route.prefix.clone());
    }
    paths
}
