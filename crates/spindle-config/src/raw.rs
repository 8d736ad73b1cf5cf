//! The config file as written: serde types that mirror the JSON, from which the schema is
//! generated. Defaults are filled in here (so the schema shows them); every other check is
//! validation's job.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bytesize::ByteSize;
use crate::config::{
    LogLevel, DEFAULT_APPLICATION_LABEL, DEFAULT_APPLICATION_SHUTDOWN, DEFAULT_APPLICATION_TIMEOUT,
    DEFAULT_HOSTNAME, DEFAULT_LOG_LEVEL, DEFAULT_MANAGEMENT_API, DEFAULT_METRICS_ENABLED,
    DEFAULT_METRICS_ENDPOINT, DEFAULT_METRICS_HOSTNAME, DEFAULT_METRICS_PORT, DEFAULT_PORT,
    DEFAULT_RUNTIME_SHUTDOWN, DEFAULT_START_TIMEOUT, DEFAULT_WORKER_LABEL,
};
use crate::edge::{
    RawTrustProxy, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADERS_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_RESPONSE_TIMEOUT,
};
use crate::health::{
    DEFAULT_EXIT_ON_UNHANDLED_ERRORS, DEFAULT_GRACE_PERIOD, DEFAULT_HEALTH_ENABLED,
    DEFAULT_HEALTH_INTERVAL, DEFAULT_MAX_ELU, DEFAULT_MAX_FAILED_STARTS, DEFAULT_MAX_HEAP_TOTAL,
    DEFAULT_MAX_HEAP_USED, DEFAULT_MAX_IN_FLIGHT_PER_WORKER, DEFAULT_MAX_STALL,
    DEFAULT_MAX_UNHEALTHY_CHECKS, DEFAULT_MAX_YOUNG_GENERATION, DEFAULT_QUEUE_TIMEOUT,
    DEFAULT_SAMPLE_INTERVAL, MAX_STANDBY_WORKERS,
};
use crate::https::RawHttps;
use crate::integer::Integer;
use crate::number::Number;
use crate::object::Object;
use crate::scaling::{
    DEFAULT_DYNAMIC_WORKERS, DEFAULT_MINIMUM_WORKERS, DEFAULT_SCALE_DOWN_ELU, DEFAULT_SCALE_UP_ELU,
    DEFAULT_SCALING_COOLDOWN, DEFAULT_SCALING_GRACE_PERIOD,
};

/// Configuration of a Spindle server (`spindle.json`; Watt's `watt.json` is read the same way).
///
/// Every string may contain `{VAR}` or `{{VAR}}` placeholders, replaced by environment
/// variables (or the `.env` file next to this file); `PLT_ROOT` is this file's directory.
/// A backslash before one keeps it as text: `"\\{id}"` in JSON is the string `{id}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Spindle configuration")]
pub(crate) struct RawConfig {
    /// URL or path of this JSON Schema, for editors. Ignored by Spindle.
    #[serde(rename = "$schema")]
    pub _schema: Option<String>,
    /// The kind of config, as Watt names it (`@platformatic/runtime`). Ignored by Spindle.
    #[serde(rename = "module")]
    pub _module: Option<String>,
    /// Id of the application that receives public traffic. Optional when there is a single
    /// application or one is marked `"entrypoint": true`.
    pub entrypoint: Option<String>,
    /// Applications to run, in order. `services` and `web` are accepted as aliases (Watt).
    #[serde(default, alias = "services", alias = "web")]
    pub applications: Vec<Object<RawApplication>>,
    /// Run every subdirectory of a directory as an application.
    pub autoload: Option<Object<RawAutoload>>,
    /// The public HTTP server.
    #[serde(default)]
    pub server: Object<RawServer>,
    /// Shutdown deadlines, in milliseconds.
    #[serde(default)]
    pub graceful_shutdown: Object<RawGracefulShutdown>,
    /// The admin server: health probes (`/live`, `/ready`) and metrics.
    #[serde(default)]
    pub metrics: Object<RawMetrics>,
    /// OpenTelemetry traces of every request, opened and exported by the core (Watt's
    /// `telemetry`): a server span per public request, a client and a server span per mesh
    /// call, and a W3C `traceparent` in the head each application receives.
    pub telemetry: Option<Object<RawTelemetry>>,
    /// The coordinator's own log lines. Applications' output is not filtered by it: every line
    /// a worker writes is passed on, labelled with `app` and `worker`.
    #[serde(default)]
    pub logger: Object<RawLogger>,
    /// Health checks of every application's workers. An application's own `health` overrides
    /// these key by key.
    #[serde(default)]
    #[schemars(default = "default_health")]
    pub health: Object<RawHealth>,
    /// Starts in a row that crash soon after starting before an application is marked failed.
    /// An application's own value overrides this one.
    #[serde(default = "default_max_failed_starts")]
    #[schemars(range(min = 1))]
    pub max_failed_starts: Integer,
    /// Requests one worker handles at once; more wait in the application's queue. An
    /// application's own value overrides this one.
    #[serde(default = "default_max_in_flight_per_worker")]
    #[schemars(range(min = 1))]
    pub max_in_flight_per_worker: Integer,
    /// Milliseconds a request may wait in the queue before it is answered 503. An
    /// application's own value overrides this one.
    #[serde(default = "default_queue_timeout")]
    #[schemars(range(min = 1))]
    pub queue_timeout: Integer,
    /// Whether an uncaught exception or unhandled rejection ends the worker (`true`) or is only
    /// logged (`false`). An application's own value overrides this one.
    #[serde(default = "default_exit_on_unhandled_errors")]
    pub exit_on_unhandled_errors: bool,
    /// Workers per application started ahead of need: loaded and listening, but sent no
    /// requests. When a worker crashes, turns unhealthy or the app scales up, a standby worker
    /// takes its place at once instead of a cold start, and a new standby is started behind
    /// it. Each costs the memory of one idle worker; it does not count toward `workers` or the
    /// scaling budget. Unset: none until the application's first crash or unhealthy worker,
    /// one from then on; `0`: never. An application's own value overrides this one.
    #[schemars(range(min = 0, max = MAX_STANDBY_WORKERS))]
    pub standby_workers: Option<Integer>,
    /// Milliseconds a public request's worker may take to begin its answer before the
    /// client is answered 504 (naming the application and worker) and the application's
    /// request is cancelled; `0` for no limit. An application's own value overrides this
    /// one.
    #[serde(default = "default_response_timeout")]
    #[schemars(range(min = 0))]
    pub response_timeout: Integer,
    /// Milliseconds an application calling another over the mesh (`http://<id>.plt.local`)
    /// waits for the response head before it is answered 504.
    #[serde(default = "default_application_timeout")]
    #[schemars(range(min = 1))]
    pub application_timeout: Integer,
    /// Which applications may not call each other over the mesh.
    #[serde(default)]
    pub policies: Object<RawPolicies>,
    /// Dynamic scaling of workers (Watt's runtime-level `workers`). With `dynamic` true,
    /// every application whose `workers` is a number (or not given) scales between `minimum`
    /// and `maximum` too; an application's own `workers` object always decides for itself.
    #[serde(default)]
    #[schemars(default = "default_scaling")]
    pub workers: Object<RawWorkers>,
    /// Environment variables for every application's workers; an application's own `env`
    /// overrides them key by key.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// An env file, relative to this file, read for every application after the `.env` next
    /// to this file (and before the application's own files).
    pub envfile: Option<String>,
    /// Restart an application (replace-before-stop) when its files change, as `spindle dev`
    /// does. Watt writes `true` in new projects.
    #[serde(default)]
    pub watch: bool,
    /// Whether the management API (the Unix socket `spindle ps`, `logs`, `restart`, `apps`
    /// and the other operator commands use) is served.
    #[serde(default = "default_management_api")]
    pub management_api: bool,
    /// Milliseconds a worker has, from the start of its thread, to listen (or to export a
    /// server, a handler or `create()`) before it counts as a failed start.
    #[serde(default = "default_start_timeout")]
    #[schemars(range(min = 1))]
    pub start_timeout: Integer,
    /// Modules every worker imports before its application (as `node --import`); paths are
    /// relative to this file, or package names. An application's own `preload` comes after.
    #[serde(default)]
    pub preload: Vec<String>,
    /// Whether stack traces in every worker are mapped through source maps
    /// (`--enable-source-maps`). An application's own value overrides this one.
    #[serde(default)]
    pub source_maps: bool,
}

/// One application: a Node.js app run in its own worker threads.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Application")]
pub(crate) struct RawApplication {
    /// Unique id: letters, digits, `-` and `_`, starting with a letter or digit, at most 63
    /// characters. Other applications reach it at `http://<id>.plt.local`.
    pub id: String,
    /// The application's directory (or its entry file), relative to this file. Required
    /// (except in `autoload.mappings`, where the directory is the mapping's). In a directory
    /// the entry is, as in Watt: `node.main` of the application's own `watt.json` (or
    /// `platformatic.json`), else `package.json`'s `main`, else its `exports`, else the first
    /// of `index`, `main`, `app`, `application`, `server`, `start`, `bundle`, `run`,
    /// `entrypoint`, each as `.js`, `.mjs`, `.cjs`.
    pub path: Option<String>,
    /// The application's own config file, relative to its directory, instead of `watt.json`
    /// or `platformatic.json`.
    pub config: Option<String>,
    /// Whether the application runs at all; `false` skips it as if it were not listed.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Extra command-line arguments of the application's workers (`process.argv`).
    #[serde(default)]
    pub arguments: Vec<String>,
    /// Ids of applications this one needs: its workers start once all of theirs are ready
    /// (as Watt orders its start). A cycle or an unknown id is an error.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Modules each worker imports before the application, after the top-level `preload`;
    /// paths are relative to the application's directory, or package names.
    #[serde(default)]
    pub preload: Vec<String>,
    /// Overrides the top-level `sourceMaps` for this application.
    pub source_maps: Option<bool>,
    /// Node options for the application's workers, space-separated, as in `NODE_OPTIONS`.
    /// Those a worker thread takes (`--import`, `--require`, `--conditions`,
    /// `--enable-source-maps`, `--experimental-*`, warning flags...) are applied; the rest are
    /// process-wide in Node and named in a warning at start.
    pub node_options: Option<String>,
    /// Node options for the application's workers, one per item; applied as `nodeOptions`.
    #[serde(default)]
    pub exec_argv: Vec<String>,
    /// Number of workers (threads) running the application: a number for a fixed count, or an
    /// object, `{"static": 4}` for a fixed count or `{"minimum": 2, "maximum": 8}` for a range
    /// the dynamic scaler moves the count in (starting at `minimum`). A number scales too when
    /// the top-level `workers.dynamic` is true: it is then the count to start with.
    #[schemars(with = "RawAppWorkers")]
    pub workers: Option<RawAppWorkers>,
    /// Environment variables for the application's workers; they override every other
    /// source.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// An extra env file, relative to the application's directory. It overrides the
    /// application's `.env` and is overridden by the process environment.
    pub envfile: Option<String>,
    /// Marks this application as the one that receives public traffic.
    #[serde(default)]
    pub entrypoint: bool,
    /// Health checks of this application's workers; each key given here overrides the
    /// top-level `health`.
    pub health: Option<Object<RawHealth>>,
    /// Overrides the top-level `maxFailedStarts` for this application.
    #[schemars(range(min = 1))]
    pub max_failed_starts: Option<Integer>,
    /// Overrides the top-level `maxInFlightPerWorker` for this application.
    #[schemars(range(min = 1))]
    pub max_in_flight_per_worker: Option<Integer>,
    /// Overrides the top-level `queueTimeout` (milliseconds) for this application.
    #[schemars(range(min = 1))]
    pub queue_timeout: Option<Integer>,
    /// Overrides the top-level `exitOnUnhandledErrors` for this application.
    pub exit_on_unhandled_errors: Option<bool>,
    /// Overrides the top-level `standbyWorkers` for this application.
    #[schemars(range(min = 0, max = MAX_STANDBY_WORKERS))]
    pub standby_workers: Option<Integer>,
    /// Overrides the top-level `responseTimeout` (milliseconds, `0` for none) for this
    /// application.
    #[schemars(range(min = 0))]
    pub response_timeout: Option<Integer>,
}

/// Applications discovered from the subdirectories of a directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Autoload")]
pub(crate) struct RawAutoload {
    /// Directory whose immediate subdirectories each become an application, with the
    /// directory's name as id. Hidden directories and `node_modules` are skipped.
    pub path: String,
    /// Names of subdirectories to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Settings of some of the subdirectories, by directory name: an application entry
    /// without `path` (its `id` replaces the directory's name).
    #[serde(default)]
    pub mappings: BTreeMap<String, Object<RawApplication>>,
}

/// The public HTTP server.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Server")]
pub(crate) struct RawServer {
    /// Address to listen on, or a host name (its first address is used). The default takes
    /// connections from this machine only; `0.0.0.0` listens on every IPv4 interface.
    #[serde(default = "default_hostname")]
    pub hostname: String,
    /// Port to listen on; `0` picks a free port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Integer,
    /// The longest queue of connections not yet accepted (`listen(2)`'s backlog); the
    /// system's default when not given.
    #[schemars(range(min = 1))]
    pub backlog: Option<Integer>,
    /// Applications mounted on this port by path prefix, so several can be public without a
    /// gateway: `{"/api": "api"}` sends `/api` and `/api/...` to application `api`, with the
    /// prefix removed. The longest matching prefix wins; paths no route matches go to the
    /// entrypoint. A prefix starts with `/`, is not `/` itself, does not end with `/` and
    /// holds no `?`, `#` or whitespace; each value is one of the applications (configured or
    /// autoloaded).
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// Milliseconds a client has to send a whole request head once the server waits for
    /// one; a head begun and not finished is answered 408. Also the longest any connection
    /// stays idle.
    #[serde(default = "default_headers_timeout")]
    #[schemars(range(min = 1))]
    pub headers_timeout: Integer,
    /// Milliseconds an idle keep-alive connection is kept open between requests (Node's
    /// default).
    #[serde(default = "default_keep_alive_timeout")]
    #[schemars(range(min = 1))]
    pub keep_alive_timeout: Integer,
    /// Milliseconds a body may make no progress: a client that stops sending its request
    /// body (408) or stops reading its answer, or an application that stops writing its
    /// answer's body, ends the exchange and the connection. WebSocket and other upgraded
    /// connections are not timed.
    #[serde(default = "default_body_timeout")]
    #[schemars(range(min = 1))]
    pub body_timeout: Integer,
    /// Client connections open at once. Past it, new connections wait in the kernel's
    /// listen backlog until one closes; open ones are not disturbed.
    #[serde(default = "default_max_connections")]
    #[schemars(range(min = 1))]
    pub max_connections: Integer,
    /// The largest request body passed to an application, in bytes or a size like
    /// `"10MB"`; larger ones are answered 413. No limit when not set.
    pub max_body_size: Option<ByteSize>,
    /// Whose `X-Forwarded-For`, `-Proto`, `-Host`, `-Prefix` and `Forwarded` headers are
    /// believed, as Express spells it: `false` (nobody: a client's are replaced or removed),
    /// `true` (every peer), a number of proxy hops in front of Spindle, or addresses and
    /// CIDR blocks (`"10.0.0.0/8, loopback"`, or an array). From a trusted proxy they are
    /// kept and extended with its address.
    #[serde(default)]
    pub trust_proxy: RawTrustProxy,
    /// Serve HTTPS on this port: the key and certificate (Watt's `server.https`). The files
    /// are read again on `SIGHUP` and whenever they change; connections already open keep
    /// the certificate they began with.
    pub https: Option<Object<RawHttps>>,
    /// Serve HTTP/2 too: over TLS to clients that offer it (ALPN `h2`), and in clear text
    /// to clients that start with the HTTP/2 preface (h2c by prior knowledge). HTTP/1.1 is
    /// always served; applications keep speaking HTTP/1.1.
    #[serde(default)]
    pub http2: bool,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            hostname: default_hostname(),
            port: default_port(),
            backlog: None,
            routes: BTreeMap::new(),
            headers_timeout: default_headers_timeout(),
            keep_alive_timeout: default_keep_alive_timeout(),
            body_timeout: default_body_timeout(),
            max_connections: default_max_connections(),
            max_body_size: None,
            trust_proxy: RawTrustProxy::default(),
            https: None,
            http2: false,
        }
    }
}

fn default_headers_timeout() -> Integer {
    millis(DEFAULT_HEADERS_TIMEOUT)
}

fn default_keep_alive_timeout() -> Integer {
    millis(DEFAULT_KEEP_ALIVE_TIMEOUT)
}

fn default_body_timeout() -> Integer {
    millis(DEFAULT_BODY_TIMEOUT)
}

fn default_max_connections() -> Integer {
    DEFAULT_MAX_CONNECTIONS.into()
}

fn default_response_timeout() -> Integer {
    millis(DEFAULT_RESPONSE_TIMEOUT)
}

/// Shutdown deadlines, in milliseconds.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "GracefulShutdown")]
pub(crate) struct RawGracefulShutdown {
    /// Milliseconds in-flight requests get to finish when the server stops (`SIGTERM`,
    /// `SIGINT`, `spindle stop`).
    #[serde(default = "default_runtime_shutdown")]
    #[schemars(range(min = 0))]
    pub runtime: Integer,
    /// Milliseconds one application's workers may take to close their servers before they are
    /// terminated.
    #[serde(default = "default_application_shutdown")]
    #[schemars(range(min = 0))]
    pub application: Integer,
    /// Whether clients are told to close their connections (`Connection: close`) once the
    /// server is stopping. Spindle always does: its ingress owns the client connections.
    #[serde(default = "default_close_connections")]
    pub close_connections: bool,
}

impl Default for RawGracefulShutdown {
    fn default() -> Self {
        Self {
            runtime: default_runtime_shutdown(),
            application: default_application_shutdown(),
            close_connections: default_close_connections(),
        }
    }
}

/// The admin server: health probes and metrics.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Metrics")]
pub(crate) struct RawMetrics {
    /// Whether the admin server runs.
    #[serde(default = "default_metrics_enabled")]
    pub enabled: bool,
    /// Address to listen on, or a host name (its first address is used). The default takes
    /// connections from this machine only; a probe from another host (a Kubernetes kubelet)
    /// needs `0.0.0.0`.
    #[serde(default = "default_metrics_hostname")]
    pub hostname: String,
    /// Port to listen on; `0` picks a free port.
    #[serde(default = "default_metrics_port")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Integer,
    /// Path of the Prometheus endpoint. It starts with `/`, has no spaces, `?` or `#`, and is
    /// none of the probe paths `/live`, `/ready` and `/status`.
    #[serde(default = "default_metrics_endpoint")]
    #[schemars(
        pattern(r"^/[^\s?#]*$|\{\{?[A-Za-z0-9_]+\}\}?"),
        extend("not" = { "enum": ["/live", "/ready", "/status"] })
    )]
    pub endpoint: String,
    /// HTTP basic auth for the metrics endpoint. The probes stay open: orchestrators call
    /// them without credentials. Use placeholders (`"{METRICS_PASSWORD}"`) to keep the
    /// password out of this file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<Object<RawMetricsAuth>>,
    /// Static labels added to every metric, such as `{"region": "eu-west-1"}`. Names are
    /// Prometheus label names (letters, digits and `_`, not starting with a digit or `__`)
    /// other than those Spindle sets: `app`, `worker`, `state`, `reason`, `method`,
    /// `code_class`, `status_code`, `route`, `le`, `quantile`, `version`, `major`, `minor`,
    /// `patch`, `direction`, `kind`, `type` and `space`, and other than the application and
    /// worker labels as named by `applicationLabel` and `workerLabel`.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {
        "pattern": "^(?:[a-zA-Z][a-zA-Z0-9_]*|_[a-zA-Z0-9][a-zA-Z0-9_]*|_)$",
        "not": {
            "enum": ["app", "worker", "state", "reason", "method", "code_class", "status_code", "route", "le", "quantile", "version", "major", "minor", "patch", "direction", "kind", "type", "space"]
        }
    }))]
    pub labels: BTreeMap<String, String>,
    /// Name of the label that carries the application's id on every per-application and
    /// per-worker series: `app` by default, `applicationId` for Watt's dashboards. A
    /// Prometheus label name that none of Spindle's other labels uses.
    #[serde(default = "default_application_label")]
    #[schemars(pattern(
        r"^(?:[a-zA-Z][a-zA-Z0-9_]*|_[a-zA-Z0-9][a-zA-Z0-9_]*|_)$|\{\{?[A-Za-z0-9_]+\}\}?"
    ))]
    pub application_label: String,
    /// Name of the label that carries the worker's id (`app:n`): `worker` by default,
    /// `workerId` for Watt's dashboards. Differs from the application label.
    #[serde(default = "default_worker_label")]
    #[schemars(pattern(
        r"^(?:[a-zA-Z][a-zA-Z0-9_]*|_[a-zA-Z0-9][a-zA-Z0-9_]*|_)$|\{\{?[A-Za-z0-9_]+\}\}?"
    ))]
    pub worker_label: String,
}

impl Default for RawMetrics {
    fn default() -> Self {
        Self {
            enabled: default_metrics_enabled(),
            hostname: default_metrics_hostname(),
            port: default_metrics_port(),
            endpoint: default_metrics_endpoint(),
            auth: None,
            labels: BTreeMap::new(),
            application_label: default_application_label(),
            worker_label: default_worker_label(),
        }
    }
}

/// OpenTelemetry traces, exported by the core.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Telemetry")]
pub(crate) struct RawTelemetry {
    /// Whether spans are made and exported at all.
    #[serde(default = "default_telemetry_enabled")]
    pub enabled: bool,
    /// The `service.name` of every span. Watt requires it; Spindle defaults to `spindle`.
    pub application_name: Option<String>,
    /// The `service.version` of every span.
    pub version: Option<String>,
    /// Requests that get no span (a health check, say): each an exact `path` (without the
    /// query), and a `method` when only that method is skipped. Their traceparent, if the
    /// client sent one, is still passed on.
    #[serde(default)]
    pub skip: Vec<Object<RawTelemetrySkip>>,
    /// Where spans go. Watt's list of exporters is read as its first entry.
    #[serde(default)]
    pub exporter: Object<RawTelemetryExporter>,
}

/// A request that gets no span.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "TelemetrySkip")]
pub(crate) struct RawTelemetrySkip {
    /// The exact path, without the query.
    pub path: String,
    /// Only this method; every method when not given.
    pub method: Option<String>,
}

/// Where spans go.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "TelemetryExporter")]
pub(crate) struct RawTelemetryExporter {
    /// `otlp`: OTLP over HTTP (protobuf) to `options.url`. `console` (Watt's default),
    /// `zipkin`, `file` and `memory` are accepted for Watt's sake and export nothing yet: a
    /// warning says so, and no spans are made.
    #[serde(rename = "type", default = "default_exporter_type")]
    pub kind: String,
    /// The exporter's settings.
    #[serde(default)]
    pub options: Object<RawTelemetryExporterOptions>,
}

impl Default for RawTelemetryExporter {
    fn default() -> Self {
        Self {
            kind: default_exporter_type(),
            options: Object::default(),
        }
    }
}

/// An exporter's settings.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "TelemetryExporterOptions")]
pub(crate) struct RawTelemetryExporterOptions {
    /// Where OTLP spans are posted; `http://localhost:4318/v1/traces` when not given.
    /// Plain `http` only.
    pub url: Option<String>,
    /// Headers sent with every export (an API key, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The file exporter's file (Watt's).
    pub path: Option<String>,
}

/// HTTP basic auth for the metrics endpoint.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "MetricsAuth")]
pub(crate) struct RawMetricsAuth {
    /// User name; not empty.
    #[schemars(length(min = 1))]
    pub username: String,
    /// Password; not empty.
    #[schemars(length(min = 1))]
    pub password: String,
}

/// The coordinator's log lines: one pino-compatible JSON object per line on stdout, or
/// coloured text on a terminal (or with `spindle start --pretty`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Logger")]
pub(crate) struct RawLogger {
    /// Least severe level of the coordinator's events that is logged.
    #[serde(default = "default_log_level")]
    pub level: LogLevel,
}

impl Default for RawLogger {
    fn default() -> Self {
        Self {
            level: default_log_level(),
        }
    }
}

/// Which applications may not call each other over the mesh.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Policies")]
pub(crate) struct RawPolicies {
    /// Applications that may not call each other, in either direction: `{"web": ["admin"]}`
    /// forbids web → admin and admin → web. Every id is one of the applications (configured
    /// or autoloaded), and none lists itself.
    /// A single id may be written as a string.
    #[serde(default)]
    pub deny: BTreeMap<String, Vec<String>>,
}

/// How workers' health is judged. Every key is optional: an application's `health` falls back
/// key by key to the top-level `health`, which falls back to the defaults.
///
/// The event loop and heap of each worker are sampled every `sampleInterval`. A loop that has
/// not turned for `maxStall` is stuck and its worker is replaced at once. Every `interval` a
/// health check compares the samples with `maxELU` and `maxHeapUsed`; after
/// `maxUnhealthyChecks` failed checks in a row the worker is replaced (checks count from
/// `gracePeriod` after the worker is ready).
#[derive(Debug, Default, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Health")]
pub(crate) struct RawHealth {
    /// Whether workers' health is judged at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Milliseconds between two samples of a worker's event loop and heap; at least 10 and at
    /// most `interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10))]
    pub sample_interval: Option<Integer>,
    /// Milliseconds between two health checks (`maxELU`, `maxHeapUsed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10))]
    pub interval: Option<Integer>,
    /// Milliseconds after a worker is ready before health checks count (the stall rule
    /// applies at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub grace_period: Option<Integer>,
    /// Failed health checks in a row before the worker is replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_unhealthy_checks: Option<Integer>,
    /// Event-loop utilization (above 0, at most 1) above which a health check fails.
    #[serde(rename = "maxELU", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub max_elu: Option<Number>,
    /// Heap used, as a fraction (above 0, at most 1) of `maxHeapTotal`, above which a health
    /// check fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub max_heap_used: Option<Number>,
    /// The worker's heap limit (old plus young generation), at least 16 MiB: bytes, or a size
    /// such as `"512MB"`, `"4GB"` or `"1.5G"`. As in Watt every unit is 1024-based: `B`, `K`
    /// / `KB` / `KiB`, `M` / `MB` / `MiB`, `G` / `GB` / `GiB`, in any case (`"1GB"` is
    /// 1073741824 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16777216))]
    pub max_heap_total: Option<ByteSize>,
    /// The young generation's share of the heap limit, at least 1 MiB and less than
    /// `maxHeapTotal`: bytes or a size, as for `maxHeapTotal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1048576))]
    pub max_young_generation: Option<ByteSize>,
    /// Milliseconds without a turn of the event loop after which a worker is stuck and
    /// replaced; at least twice `sampleInterval`, since a stall is seen between samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 20))]
    pub max_stall: Option<Integer>,
}

/// An application's `workers`: a number, or an object.
#[derive(Debug)]
pub(crate) enum RawAppWorkers {
    /// A number (or a string holding one).
    Count(Integer),
    /// An object.
    Range(RawWorkerRange),
}

impl<'de> Deserialize<'de> for RawAppWorkers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AppWorkersVisitor)
    }
}

/// Numbers and strings are read as an [`Integer`] (with its messages); maps as the object,
/// through the map access serde_path_to_error tracks keys with (as [`Object`] does).
struct AppWorkersVisitor;

impl AppWorkersVisitor {
    fn count<'de, E: de::Error>(value: impl IntoDeserializer<'de, E>) -> Result<RawAppWorkers, E> {
        Integer::deserialize(value.into_deserializer()).map(RawAppWorkers::Count)
    }
}

impl<'de> Visitor<'de> for AppWorkersVisitor {
    type Value = RawAppWorkers;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or an object")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawAppWorkers, E> {
        Self::count(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAppWorkers, A::Error> {
        RawWorkerRange::deserialize(MapAccessDeserializer::new(map)).map(RawAppWorkers::Range)
    }
}

impl Serialize for RawAppWorkers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Count(count) => count.serialize(serializer),
            Self::Range(range) => range.serialize(serializer),
        }
    }
}

impl JsonSchema for RawAppWorkers {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "ApplicationWorkersOrCount".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut count = Integer::json_schema(generator);
        count.insert("minimum".into(), 1.into());
        let range = generator.subschema_for::<RawWorkerRange>();
        json_schema!({ "anyOf": [count, range] })
    }
}

/// An application's `workers` as an object: `static` for a fixed count, or `minimum` and
/// `maximum` for a range the dynamic scaler moves the count in, starting at `minimum`. Keys
/// not given are taken from the top-level `workers`, then the defaults (`minimum` 1,
/// `maximum` the top-level `total`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    rename = "ApplicationWorkers",
    extend("dependentSchemas" = {
        "static": {
            "properties": { "minimum": false, "maximum": false, "dynamic": { "const": false } }
        }
    })
)]
pub(crate) struct RawWorkerRange {
    /// A fixed number of workers; not together with `minimum` or `maximum`.
    #[serde(rename = "static", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fixed: Option<Integer>,
    /// The fewest workers, and the number to start with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub minimum: Option<Integer>,
    /// The most workers; at least `minimum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub maximum: Option<Integer>,
    /// Whether the scaler moves the count between `minimum` and `maximum`. Defaults to true
    /// when either is given, else to the top-level `workers.dynamic`. `false` fixes the count
    /// at `minimum` (1 when not given); it cannot be `true` with `static`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
}

/// The dynamic scaler (Watt's runtime-level `workers`). An application whose workers'
/// event-loop utilization is above `scaleUpELU` gets one more worker, as long as all
/// applications together stay within `total`; one below `scaleDownELU` loses one, never
/// going below its minimum. Two actions are at least `cooldown` apart, and a new worker is
/// left out for `gracePeriod`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Workers")]
pub(crate) struct RawWorkers {
    /// Workers of an application whose own `workers` is not given (Watt's top-level
    /// `workers` as a number is read as this).
    #[serde(rename = "static", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fixed: Option<Integer>,
    /// Whether applications whose `workers` is a number (or not given) scale dynamically,
    /// between `minimum` and `maximum`, starting at their number kept within that range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    /// The most workers of all applications together; at least the sum of the applications'
    /// minimums when any application scales dynamically. Defaults to the machine's available
    /// parallelism.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub total: Option<Integer>,
    /// Event-loop utilization (above 0, at most 1) above which an application scales up.
    #[serde(rename = "scaleUpELU", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub scale_up_elu: Option<Number>,
    /// Event-loop utilization (above 0, below `scaleUpELU`) below which an application scales
    /// down.
    #[serde(rename = "scaleDownELU", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub scale_down_elu: Option<Number>,
    /// The fewest milliseconds between two scaling actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cooldown: Option<Integer>,
    /// Milliseconds after a worker starts before it counts in scaling decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub grace_period: Option<Integer>,
    /// The fewest workers of an application scaled because of `dynamic` (and of one whose
    /// `workers` object gives no `minimum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub minimum: Option<Integer>,
    /// The most workers of an application scaled because of `dynamic` (and of one whose
    /// `workers` object gives no `maximum`); at least `minimum`. Defaults to `total`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub maximum: Option<Integer>,
}

// serde's `default = "..."` wants functions; each one only restates a `DEFAULT_*` constant.

fn default_enabled() -> bool {
    true
}

fn default_close_connections() -> bool {
    true
}

fn default_management_api() -> bool {
    DEFAULT_MANAGEMENT_API
}

fn default_start_timeout() -> Integer {
    millis(DEFAULT_START_TIMEOUT)
}

fn default_hostname() -> String {
    DEFAULT_HOSTNAME.to_owned()
}

fn default_port() -> Integer {
    DEFAULT_PORT.into()
}

fn default_runtime_shutdown() -> Integer {
    millis(DEFAULT_RUNTIME_SHUTDOWN)
}

fn default_application_shutdown() -> Integer {
    millis(DEFAULT_APPLICATION_SHUTDOWN)
}

fn default_telemetry_enabled() -> bool {
    true
}

fn default_exporter_type() -> String {
    "console".to_owned()
}

fn default_metrics_enabled() -> bool {
    DEFAULT_METRICS_ENABLED
}

fn default_metrics_hostname() -> String {
    DEFAULT_METRICS_HOSTNAME.to_owned()
}

fn default_metrics_port() -> Integer {
    DEFAULT_METRICS_PORT.into()
}

fn default_metrics_endpoint() -> String {
    DEFAULT_METRICS_ENDPOINT.to_owned()
}

fn default_application_label() -> String {
    DEFAULT_APPLICATION_LABEL.to_owned()
}

fn default_worker_label() -> String {
    DEFAULT_WORKER_LABEL.to_owned()
}

fn default_log_level() -> LogLevel {
    DEFAULT_LOG_LEVEL
}

/// The schema's default for the top-level `health`: every key with its default. Deserializing
/// uses the empty `RawHealth::default()` instead, so keys not written stay unset and validation
/// knows which values the user gave.
fn default_health() -> Object<RawHealth> {
    Object(RawHealth {
        enabled: Some(DEFAULT_HEALTH_ENABLED),
        sample_interval: Some(millis(DEFAULT_SAMPLE_INTERVAL)),
        interval: Some(millis(DEFAULT_HEALTH_INTERVAL)),
        grace_period: Some(millis(DEFAULT_GRACE_PERIOD)),
        max_unhealthy_checks: Some(DEFAULT_MAX_UNHEALTHY_CHECKS.into()),
        max_elu: Some(DEFAULT_MAX_ELU.into()),
        max_heap_used: Some(DEFAULT_MAX_HEAP_USED.into()),
        max_heap_total: Some(DEFAULT_MAX_HEAP_TOTAL.into()),
        max_young_generation: Some(DEFAULT_MAX_YOUNG_GENERATION.into()),
        max_stall: Some(millis(DEFAULT_MAX_STALL)),
    })
}

fn default_max_failed_starts() -> Integer {
    DEFAULT_MAX_FAILED_STARTS.into()
}

fn default_max_in_flight_per_worker() -> Integer {
    DEFAULT_MAX_IN_FLIGHT_PER_WORKER.into()
}

fn default_queue_timeout() -> Integer {
    millis(DEFAULT_QUEUE_TIMEOUT)
}

fn default_exit_on_unhandled_errors() -> bool {
    DEFAULT_EXIT_ON_UNHANDLED_ERRORS
}

fn default_application_timeout() -> Integer {
    millis(DEFAULT_APPLICATION_TIMEOUT)
}

/// The schema's default for the top-level `workers`: every key with a fixed default (`total`
/// and `maximum` depend on the machine). As for `health`, deserializing starts empty.
fn default_scaling() -> Object<RawWorkers> {
    Object(RawWorkers {
        fixed: None,
        dynamic: Some(DEFAULT_DYNAMIC_WORKERS),
        total: None,
        scale_up_elu: Some(DEFAULT_SCALE_UP_ELU.into()),
        scale_down_elu: Some(DEFAULT_SCALE_DOWN_ELU.into()),
        cooldown: Some(millis(DEFAULT_SCALING_COOLDOWN)),
        grace_period: Some(millis(DEFAULT_SCALING_GRACE_PERIOD)),
        minimum: Some(DEFAULT_MINIMUM_WORKERS.get().into()),
        maximum: None,
    })
}

fn millis(duration: std::time::Duration) -> Integer {
    Integer(duration.as_millis() as i128)
}
