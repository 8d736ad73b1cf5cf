//! The coordinator as a whole: binds, starts the runtimes and the supervisor, takes the
//! events the thread factory reports, and runs the shutdown sequence.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_config::Config;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::admin::{self, Admin};
use crate::control::{Control, Meta};
use crate::datapath::app::App;
use crate::datapath::apps::Apps;
use crate::datapath::pipe::Pipe;
use crate::datapath::prefixes::PrefixRoutes;
use crate::datapath::queue::AppQueue;
use crate::datapath::ready::ReadyWorkers;
use crate::host::WorkerHost;
use crate::hot::HotApps;
use crate::ingress::{self, PublicRoute};
use crate::logs::{LogSink, WorkerLog};
use crate::mesh::{self, Mesh};
use crate::probe::Probe;
use crate::status::Status;
use crate::supervisor::{Event, Supervisor, SupervisorParts, Urls, WorkerLogs};
use crate::tls::Tls;
use crate::{rundir, Phase, WorkerId};

/// How this process runs, beyond its config.
#[derive(Debug, Clone, Default)]
pub struct CoreOptions {
    /// `process.version` of the Node running the workers.
    pub node_version: Option<String>,
    /// Dev mode: restart an app (replace-before-stop) when its files change.
    pub dev: bool,
    /// Threads for the data plane; None: [`default_core_threads`].
    pub core_threads: Option<usize>,
    /// The process environment, under which apps added later resolve their config.
    pub env: std::collections::BTreeMap<String, String>,
}

/// The management API's socket, in the process's private directory.
pub const CONTROL_SOCKET: &str = "control.sock";

/// Extra time, beyond `gracefulShutdown.application`, for the thread factory to report
/// that a terminated worker is gone.
const EXIT_REPORT_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot resolve {what} address {host}:{port}: {source}")]
    Resolve {
        what: &'static str,
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the runtime directory under {base}: {source}")]
    RunDir {
        base: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the core runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Tls(#[from] spindle_config::TlsError),
}

pub struct Core {
    events: mpsc::UnboundedSender<Event>,
    status: watch::Receiver<Arc<Status>>,
    worker_logs: WorkerLogs,
    host: Arc<dyn WorkerHost>,
    logs: LogSink,
    runtime: Mutex<Option<Runtime>>,
    ingress_stop: watch::Sender<bool>,
    ingress_task: Mutex<Option<JoinHandle<bool>>>,
    shutting_down: AtomicBool,
    application_grace: Duration,
    rundir: PathBuf,
    /// Traces (`telemetry`): flushed once the workers are stopped.
    telemetry: Option<Arc<crate::telemetry::Telemetry>>,
    /// Where the ingress and the admin server listen, as bound (port 0 resolved).
    pub ingress_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    /// The public port's TLS, when `server.https` is set.
    tls: Option<Arc<Tls>>,
}

impl Core {
    /// Binds the listeners (so a taken port fails here, before any worker starts), then
    /// starts the runtimes and the workers.
    pub fn start(
        config: &Config,
        host: Arc<dyn WorkerHost>,
        logs: LogSink,
        options: CoreOptions,
    ) -> Result<Arc<Core>, StartError> {
        let CoreOptions {
            node_version,
            dev,
            core_threads,
            env,
        } = options;
        let ingress = bind(
            "server",
            &config.server.hostname,
            config.server.port,
            config.server.backlog,
        )?;
        let ingress_addr = ingress.local_addr().map_err(StartError::Runtime)?;
        let tls = config
            .server
            .https
            .as_ref()
            .map(|https| Tls::new(https, config.server.http2))
            .transpose()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let admin = if config.metrics.enabled {
            Some(bind(
                "admin",
                &config.metrics.hostname,
                config.metrics.port,
                None,
            )?)
        } else {
            None
        };
        let admin_addr = admin.as_ref().and_then(|l| l.local_addr().ok());
        let base = spindle_config::run_base_dir();
        let rundir = rundir::create(&base).map_err(|source| StartError::RunDir { base, source })?;

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

        let queues: HashMap<String, Arc<AppQueue>> = config
            .applications
            .iter()
            .map(|a| (a.id.clone(), Arc::default()))
            .collect();
        // One per app: the ingress reaches the entrypoint's (and routed apps'), the mesh
        // and the management API any app's.
        let apps = Apps::default();
        for a in &config.applications {
            apps.insert(Arc::new(App {
                id: a.id.as_str().into(),
                ready: routes_rx.clone(),
                queue: queues[&a.id].clone(),
                max_in_flight: a.faults.max_in_flight_per_worker as usize,
                queue_timeout: a.faults.queue_timeout,
                response_timeout: a.faults.response_timeout,
                metrics: Arc::default(),
                keeps_prefix: keeps_prefix(&a.kind),
            }));
        }
        let app = |id: &str| apps.get(id).expect("every configured app is registered");
        let labels: Vec<(String, String)> = config
            .metrics
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();

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
                names: crate::metrics::LabelNames {
                    app: config.metrics.application_label.clone(),
                    worker: config.metrics.worker_label.clone(),
                },
            };
            (listener, state)
        });
        let telemetry = config.telemetry.as_ref().and_then(|t| {
            crate::telemetry::Telemetry::start(t)
                .inspect_err(|e| tracing::error!(error = %e, "no traces will be exported"))
                .ok()
        });
        let mesh = Arc::new(Mesh {
            telemetry: telemetry.clone(),
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
        });
        let mesh_listeners = mesh::Listeners::default();
        for app in &config.applications {
            mesh_listeners
                .listen(runtime.handle(), &mesh, &rundir, &app.id)
                .map_err(|source| StartError::RunDir {
                    base: mesh::socket_path(&rundir, &app.id),
                    source,
                })?;
        }

        // `managementApi: false`: no socket at all, so nothing can find or steer this process.
        let control_listener = if config.management_api {
            let control_socket = rundir.join(CONTROL_SOCKET);
            let listener =
                std::os::unix::net::UnixListener::bind(&control_socket).map_err(|source| {
                    StartError::RunDir {
                        base: control_socket.clone(),
                        source,
                    }
                })?;
            std::fs::set_permissions(&control_socket, std::fs::Permissions::from_mode(0o600))
                .map_err(|source| StartError::RunDir {
                    base: control_socket.clone(),
                    source,
                })?;
            Some(listener)
        } else {
            None
        };
        let (stop_tx, mut stop_rx) = mpsc::unbounded_channel();
        let prefixes = Arc::new(PrefixRoutes::new(
            config
                .server
                .routes
                .iter()
                .map(|r| (r.prefix.clone(), app(&r.app)))
                .collect(),
            app(&config.entrypoint),
        ));

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
            names: crate::metrics::LabelNames {
                app: config.metrics.application_label.clone(),
                worker: config.metrics.worker_label.clone(),
            },
            events: events_tx.clone(),
            stop: stop_tx,
            logs: logs.clone(),
            hot: Arc::new(HotApps {
                config: Arc::new(config.clone()),
                env,
                apps: apps.clone(),
                ready: routes_rx.clone(),
                mesh: mesh.clone(),
                mesh_listeners: mesh_listeners.clone(),
                rundir: rundir.clone(),
                runtime: runtime.handle().clone(),
                events: events_tx.clone(),
                prefixes: prefixes.clone(),
            }),
        };
        let control = control_listener.map(|listener| (listener, control));
        admin::spawn(admin, control).map_err(StartError::Runtime)?;

        if dev {
            let apps = config
                .applications
                .iter()
                .map(|a| (Arc::from(a.id.as_str()), a.path.clone()))
                .collect();
            crate::watch::spawn(apps, events_tx.clone()).map_err(StartError::Runtime)?;
        }

        let (ingress_stop, ingress_stop_rx) = watch::channel(false);
        let deadline = config.graceful_shutdown.runtime;
        ingress.set_nonblocking(true).map_err(StartError::Runtime)?;
        let public = Arc::new(PublicRoute(prefixes));
        let mut edge = ingress::Edge::of(&config.server);
        edge.settings.telemetry = telemetry.clone();
        if let Some(tls) = &tls {
            // What the apps are told: the client's scheme (unless a trusted proxy says
            // otherwise).
            edge.settings.proto = "https";
            runtime.spawn(crate::tls::watch_files(
                tls.clone(),
                ingress_stop_rx.clone(),
            ));
        }
        let ingress_tls = tls.clone();
        let ingress_task = runtime.spawn(async move {
            match tokio::net::TcpListener::from_std(ingress) {
                Ok(listener) => {
                    ingress::serve(
                        listener,
                        public,
                        ingress_tls,
                        edge.settings,
                        edge.max_connections,
                        ingress_stop_rx,
                        deadline,
                    )
                    .await
                }
                Err(err) => {
                    tracing::error!(error = %err, "ingress listener unusable");
                    true
                }
            }
        });

        let parts = SupervisorParts {
            host: host.clone(),
            rundir: rundir.clone(),
            mesh_listeners,
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
        let supervising = runtime.spawn(supervisor.run(events_rx));
        runtime.spawn(watch_supervisor(supervising, |why| {
            // Without its supervisor the process would serve on with nobody replacing a
            // failed worker: better to exit and let the orchestrator start a new one.
            tracing::error!(error = %why, "the supervisor panicked; exiting");
            eprintln!("spindle: error: the supervisor panicked ({why}); exiting");
            std::process::exit(70);
        }));

        let core = Arc::new(Core {
            events: events_tx,
            status: status_rx,
            worker_logs,
            host,
            logs,
            runtime: Mutex::new(Some(runtime)),
            ingress_stop,
            ingress_task: Mutex::new(Some(ingress_task)),
            shutting_down: AtomicBool::new(false),
            application_grace: config.graceful_shutdown.application,
            rundir,
            telemetry,
            ingress_addr,
            admin_addr,
            tls,
        });
        // `spindle stop` asks through the management API; the sequence is the signal's.
        let weak = Arc::downgrade(&core);
        if let Some(runtime) = crate::sync::lock(&core.runtime).as_ref() {
            runtime.spawn(async move {
                if stop_rx.recv().await.is_some() {
                    if let Some(core) = weak.upgrade() {
                        core.shutdown();
                    }
                }
            });
        }
        Ok(core)
    }

    /// The latest status; await changes with `changed()` on the receiver.
    pub fn status(&self) -> watch::Receiver<Arc<Status>> {
        self.status.clone()
    }

    /// The worker's server listens; requests reach it through `pipe`.
    pub fn worker_ready(&self, id: WorkerId, pipe: Arc<Pipe>) {
        let _ = self.events.send(Event::Ready(id, pipe));
    }

    /// A worker thread began to exit (its `process` emitted 'exit'): it takes no more
    /// requests, though the thread ends only after Node has torn down its isolate.
    pub fn worker_exiting(&self, id: WorkerId) {
        let _ = self.events.send(Event::Exiting(id));
    }

    /// A worker thread connected: from now on its loop can be sampled through `probe`.
    pub fn worker_attached(&self, id: WorkerId, probe: Arc<Probe>) {
        let _ = self.events.send(Event::Attached(id, probe));
    }

    /// Rolling restart of one app (or every app): each worker is replaced by a successor
    /// that is Ready before the old one drains.
    pub fn restart(&self, app: Option<&str>) {
        let _ = self.events.send(Event::Restart(app.map(Arc::from)));
    }

    /// Whether the public port serves TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Reads the public port's keys and certificates again (`SIGHUP`): new handshakes use
    /// them; on an error (logged) the ones in use stay. False when they were not reloaded.
    pub fn reload_certificates(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.reload("SIGHUP"))
    }

    pub fn worker_exited(&self, id: WorkerId, code: i32, error: Option<String>) {
        let _ = self.events.send(Event::Exited { id, code, error });
    }

    /// Where a worker's stdout/stderr go; None for an unknown (already gone) worker.
    pub fn worker_log(&self, id: &WorkerId) -> Option<Arc<WorkerLog>> {
        crate::sync::lock(&self.worker_logs).get(id).cloned()
    }

    /// Starts the graceful shutdown (once; later calls do nothing): readiness goes false,
    /// the ingress stops accepting and drains, then every worker is stopped, and finally
    /// the thread factory is told to exit, with 0 when everything finished in time.
    pub fn shutdown(self: &Arc<Self>) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let core = self.clone();
        let runtime = crate::sync::lock(&self.runtime);
        let Some(runtime) = runtime.as_ref() else {
            return;
        };
        runtime.spawn(async move {
            let code = core.shutdown_sequence().await;
            core.logs.flush();
            core.host.exit(code);
        });
    }

    async fn shutdown_sequence(&self) -> i32 {
        let _ = self.events.send(Event::BeginShutdown);
        let _ = self.ingress_stop.send(true);
        let task = crate::sync::lock(&self.ingress_task).take();
        let drained = match task {
            Some(task) => task.await.unwrap_or(false),
            None => true,
        };
        if !drained {
            tracing::warn!("requests still in flight at the gracefulShutdown.runtime deadline");
        }
        let _ = self.events.send(Event::StopWorkers {
            grace: self.application_grace,
        });
        let mut status = self.status.clone();
        let stopped = tokio::time::timeout(
            self.application_grace + EXIT_REPORT_MARGIN,
            status.wait_for(|s| s.phase == Phase::Stopped),
        )
        .await
        .is_ok();
        if !stopped {
            tracing::warn!("workers still running after the gracefulShutdown.application deadline");
        }
        if let Some(telemetry) = self.telemetry.clone() {
            // The last export blocks: off the runtime's threads.
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
        }
        tracing::info!(clean = drained && stopped, "stopped");
        if drained && stopped {
            0
        } else {
            1
        }
    }

    /// Stops the runtime's threads and removes the socket directory. Call last, right
    /// before the process exits.
    pub fn close(&self) {
        if let Some(runtime) = crate::sync::lock(&self.runtime).take() {
            runtime.shutdown_background();
        }
        rundir::remove(&self.rundir);
        self.logs.flush();
    }
}

/// Binds `host:port`; `backlog` is `listen(2)`'s, else the standard library's (128).
fn bind(
    what: &'static str,
    host: &str,
    port: u16,
    backlog: Option<u32>,
) -> Result<TcpListener, StartError> {
    let resolve = |source| StartError::Resolve {
        what,
        host: host.into(),
        port,
        source,
    };
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(resolve)?
        .next()
        .ok_or_else(|| resolve(std::io::Error::other("no address")))?;
    let Some(backlog) = backlog else {
        return TcpListener::bind(addr).map_err(|source| StartError::Bind { what, addr, source });
    };
    let listen = || -> std::io::Result<TcpListener> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        // As the standard library's bind does: a restart can take the port at once.
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        Ok(socket.into())
    };
    listen().map_err(|source| StartError::Bind { what, addr, source })
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

/// Whether an app of this kind sees the `server.routes` prefix it is mounted under.
pub(crate) fn keeps_prefix(kind: &spindle_config::AppKind) -> bool {
    matches!(kind, spindle_config::AppKind::Next { .. })
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

/// Calls `on_panic` with the panic's message if the supervisor task panics.
async fn watch_supervisor(task: tokio::task::JoinHandle<()>, on_panic: impl FnOnce(String)) {
    if let Err(err) = task.await {
        if err.is_panic() {
            let payload = err.into_panic();
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            on_panic(why);
        }
    }
}

#[cfg(test)]
mod bind_tests {
    use super::bind;

    /// `ss` shows a listening socket's backlog as its Send-Q.
    #[test]
    fn the_backlog_given_is_the_listen_queue() {
        let listener = bind("server", "127.0.0.1", 0, Some(7)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let out = std::process::Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output();
        let Ok(out) = out else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have ss (iproute2)"
            );
            eprintln!("SKIPPED: ss not installed");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let send_q: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(send_q.get(2), Some(&"7"), "{text}");
        let default = bind("server", "127.0.0.1", 0, None).unwrap();
        assert!(default.local_addr().is_ok());
    }
}

#[cfg(test)]
mod supervisor_watch_tests {
    use super::watch_supervisor;

    #[tokio::test]
    async fn a_panicking_supervisor_is_reported() {
        let task = tokio::spawn(async { panic!("table out of step") });
        let (tx, rx) = std::sync::mpsc::channel();
        watch_supervisor(task, move |why| tx.send(why).unwrap()).await;
        assert_eq!(rx.try_recv().unwrap(), "table out of step");
    }

    #[tokio::test]
    async fn a_supervisor_that_returns_is_not() {
        let task = tokio::spawn(async {});
        watch_supervisor(task, |why| panic!("reported {why}")).await;
    }
}
