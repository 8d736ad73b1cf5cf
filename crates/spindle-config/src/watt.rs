//! Watt's config as Spindle reads it: a pass over the (placeholder-expanded) document before
//! it is deserialized.
//!
//! Every key of Watt 3.x's runtime schema must be accepted, but the raw types stay strict
//! (`deny_unknown_fields`) so a typo is still an error. So this pass
//! - takes out the Watt keys Spindle has no use for, each with one [`Warning`] saying why;
//! - rewrites Watt's shorthand forms into the one form the raw types read (`metrics: true`,
//!   `workers: 3`, `policies.deny` with a string, `"true"` from a `{PLACEHOLDER}`).
//!
//! The reasons are stated here, next to the key, so that docs and warnings say the same.

use std::path::Path;

use serde_json::{Map, Value};

use crate::capability;
use crate::id::app_id_from_dir;

use crate::deserialize::APPLICATION_KEYS;
use crate::error::Reporter;
use crate::keypath::KeyPath;
use crate::warning::Warning;

/// Top-level Watt keys with no effect in Spindle, and why.
const TOP_LEVEL: &[(&str, &str)] = &[
    ("basePath", "Spindle does not strip a base path from the entrypoint's requests; mount applications under a prefix with server.routes"),
    ("compileCache", "workers do not enable Node's module compile cache"),
    ("extensions", "runtime extensions are JavaScript plugins of Watt's main thread; Spindle's coordinator is native"),
    ("healthProbes", "the probes /live and /ready are always served by the admin server (metrics.hostname, metrics.port)"),
    ("httpCache", "mesh calls have no shared HTTP cache"),
    ("inspectorOptions", "workers cannot be inspected through Spindle"),
    ("management", "applications get no management access of their own; use the management API (spindle ps, restart, apps)"),
    ("messagingTimeout", "there is no worker-to-worker messaging; call other applications at http://<id>.plt.local"),
    ("nodeModulesSourceMaps", "with sourceMaps every module's source maps are used, node_modules included"),
    ("resolvedApplicationsBasePath", "applications given by url are not cloned; give each a path"),
    ("reuseTcpPorts", "Spindle owns the public listener and routes every request; workers do not share a port"),
    ("scheduler", "there is no cron scheduler; call the application from a cron job instead"),
    ("startupConcurrency", "all applications start at once"),
    ("undici", "mesh calls go through Spindle's core, not an undici dispatcher"),
    ("verticalScaler", "deprecated in Watt; use workers: {\"dynamic\": true, ...}"),
    ("workersRestartDelay", "a rolling restart starts the next worker as soon as the previous one's successor is ready"),
];

/// Per-application Watt keys with no effect in Spindle, and why (also read in
/// `autoload.mappings`).
const APPLICATION: &[(&str, &str)] = &[
    ("compileCache", "workers do not enable Node's module compile cache"),
    ("gitBranch", "applications given by url are not cloned"),
    ("management", "applications get no management access of their own; use the management API (spindle ps, restart, apps)"),
    ("nodeModulesSourceMaps", "with sourceMaps every module's source maps are used, node_modules included"),
    ("packageManager", "Spindle does not install dependencies; install them before starting"),
    ("permissions", "Node's permission model is per process; a worker thread cannot have its own"),
    ("reuseTcpPorts", "Spindle owns the public listener and routes every request; workers do not share a port"),
    ("telemetry", "the core traces every request to the application (top-level telemetry); instrumentations are not loaded into workers"),
    ("useHttp", "mesh calls always go through Spindle's core"),
    ("websocket", "WebSocket upgrades always pass through, on the public port and the mesh"),
];

/// `health` keys of Watt's with no effect in Spindle.
const HEALTH: &[(&str, &str)] = &[
    ("codeRangeSize", "workers keep V8's default code range"),
    (
        "maxEventLoopDelay",
        "a stuck event loop is caught by health.maxStall, a busy one by health.maxELU",
    ),
    (
        "maxEventLoopDelayP99",
        "a stuck event loop is caught by health.maxStall, a busy one by health.maxELU",
    ),
    (
        "bufferPoolSize",
        "workers keep Node's default Buffer.poolSize",
    ),
    (
        "defaultHighWaterMark",
        "workers keep Node's default stream high-water mark",
    ),
];

/// `metrics` keys of Watt's with no effect in Spindle.
const METRICS: &[(&str, &str)] = &[
    (
        "https",
        "the admin server speaks plain HTTP; terminate TLS in front of it",
    ),
    (
        "httpClientMetrics",
        "mesh calls are counted by the core, not by an HTTP client in the worker",
    ),
    (
        "httpCustomLabels",
        "request metrics carry no labels from headers",
    ),
    ("readiness", "readiness is /ready on the admin server"),
    ("liveness", "liveness is /live on the admin server"),
    (
        "healthChecksTimeouts",
        "the probes ask no worker: they answer from the core's own state",
    ),
    ("plugins", "the admin server takes no plugins"),
    ("timeout", "a scrape never waits on a worker"),
    (
        "otlpExporter",
        "metrics are not pushed over OTLP; scrape the metrics endpoint",
    ),
    (
        "opentelemetry",
        "metrics are not pushed over OTLP; scrape the metrics endpoint",
    ),
];

/// Why a `logger` key other than `level` has no effect.
const LOGGER: &str = "Spindle writes its own log lines as pino-compatible JSON on stdout and \
     passes applications' lines on as written; only logger.level applies";

/// Watt's wrapped form: an application's own config at the root (its `$schema` or `module`
/// names a capability such as `@platformatic/node`), maybe with a `runtime` block. The
/// runtime config is that block, and the directory is its one application unless the block
/// lists some. `None` for a runtime config.
pub(crate) fn unwrap(document: &Value, file: &Path, root: &Path) -> Option<Value> {
    let module = capability::named(document)?;
    if module == "@platformatic/runtime" {
        return None;
    }
    let mut runtime = match document.get("runtime") {
        Some(Value::Object(runtime)) => runtime.clone(),
        _ => Map::new(),
    };
    let lists_apps = APPLICATION_KEYS
        .iter()
        .chain(["autoload"].iter())
        .any(|key| runtime.contains_key(*key));
    if !lists_apps {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        let app = serde_json::json!({
            "id": app_id_from_dir(root),
            "path": ".",
            "config": name,
        });
        runtime.insert("applications".into(), Value::Array(vec![app]));
    }
    Some(Value::Object(runtime))
}

/// Rewrites `document` in place and returns one warning per key without effect.
pub(crate) fn adapt(document: &mut Value, report: Reporter<'_>) -> Vec<Warning> {
    let mut pass = Pass {
        report,
        warnings: Vec::new(),
    };
    if let Value::Object(top) = document {
        pass.top_level(top);
    }
    pass.warnings
}

struct Pass<'r> {
    report: Reporter<'r>,
    warnings: Vec<Warning>,
}

impl Pass<'_> {
    fn warn(&mut self, at: &KeyPath, why: &str) {
        self.warnings.push(
            self.report
                .warn(at, format!("has no effect in Spindle: {why}")),
        );
    }

    /// Removes the keys of `table` from `object`, warning about each one present.
    fn drop_keys(&mut self, object: &mut Map<String, Value>, at: &KeyPath, table: &[(&str, &str)]) {
        for (key, why) in table {
            if object.remove(*key).is_some() {
                self.warn(&at.key(key), why);
            }
        }
    }

    fn top_level(&mut self, top: &mut Map<String, Value>) {
        let root = KeyPath::root();
        self.drop_keys(top, &root, TOP_LEVEL);
        self.restart_on_error(top, &root);
        for key in ["watch", "managementApi", "sourceMaps"] {
            flag(top, key);
        }
        if let Some(Value::Object(api)) = top.get("managementApi") {
            // The socket is always the process's own (`spindle ps` finds it), so only
            // whether it is on carries over.
            let keys: Vec<String> = api.keys().cloned().collect();
            for key in keys {
                let why = match key.as_str() {
                    "socket" => "the management socket is always $TMPDIR/spindle-<pid>/control.sock, where the spindle commands find it",
                    "logs" => "spindle logs reads the log history the core keeps",
                    _ => continue,
                };
                self.warn(&root.key("managementApi").key(&key), why);
            }
            let unknown = api.keys().any(|key| key != "socket" && key != "logs");
            if !unknown {
                top.insert("managementApi".into(), Value::Bool(true));
            }
        }
        if let Some(Value::String(text)) = top.get("strictEnv") {
            if text == "warn" {
                top.insert("strictEnv".into(), Value::Bool(false));
            }
        }
        flag(top, "strictEnv");
        match top.get("strictEnv") {
            Some(Value::Bool(true)) => {
                top.remove("strictEnv");
            }
            Some(Value::Bool(false)) => {
                top.remove("strictEnv");
                self.warn(
                    &root.key("strictEnv"),
                    "a {VAR} placeholder whose variable is not set is always an error",
                );
            }
            _ => {}
        }
        self.exit_on_unhandled_errors(top, &root);
        self.preload(top, &root);

        if let Some(Value::Object(server)) = top.get_mut("server") {
            if server.remove("portAssignment").is_some() {
                self.warn(
                    &root.key("server").key("portAssignment"),
                    "Spindle owns the public port; workers never listen on it",
                );
            }
        }
        if let Some(Value::Object(shutdown)) = top.get_mut("gracefulShutdown") {
            if shutdown.get("closeConnections") == Some(&Value::Bool(false)) {
                self.warn(
                    &root.key("gracefulShutdown").key("closeConnections"),
                    "clients are always asked to close their connections once the server is stopping",
                );
            }
        }
        self.metrics(top, &root);
        self.telemetry(top, &root);
        if let Some(Value::Object(logger)) = top.get_mut("logger") {
            let keys: Vec<String> = logger.keys().filter(|k| *k != "level").cloned().collect();
            for key in keys {
                logger.remove(&key);
                self.warn(&root.key("logger").key(&key), LOGGER);
            }
        }
        if let Some(Value::Object(health)) = top.get_mut("health") {
            self.health(health, &root.key("health"));
        }
        self.workers(top, &root);
        if let Some(Value::Object(policies)) = top.get_mut("policies") {
            if let Some(Value::Object(deny)) = policies.get_mut("deny") {
                for targets in deny.values_mut() {
                    if let Value::String(one) = targets {
                        *targets = Value::Array(vec![Value::String(std::mem::take(one))]);
                    }
                }
            }
        }

        for list in APPLICATION_KEYS {
            if let Some(Value::Array(apps)) = top.get_mut(list) {
                for (index, app) in apps.iter_mut().enumerate() {
                    if let Value::Object(app) = app {
                        self.application(app, &root.key(list).index(index));
                    }
                }
            }
        }
        if let Some(Value::Object(autoload)) = top.get_mut("autoload") {
            if let Some(Value::Object(mappings)) = autoload.get_mut("mappings") {
                let at = root.key("autoload").key("mappings");
                for (dir, mapping) in mappings.iter_mut() {
                    if let Value::Object(mapping) = mapping {
                        self.application(mapping, &at.key(dir));
                    }
                }
            }
        }
    }

    fn application(&mut self, app: &mut Map<String, Value>, at: &KeyPath) {
        self.drop_keys(app, at, APPLICATION);
        self.restart_on_error(app, at);
        self.preload(app, at);
        flag(app, "sourceMaps");
        flag(app, "enabled");
        if let Some(Value::Object(_)) = app.get("enabled") {
            app.remove("enabled");
            self.warn(
                &at.key("enabled"),
                "enabled per environment is not read: Spindle has no production and development modes; \
                 the application runs (write true or false)",
            );
        }
        if let Some(Value::Object(health)) = app.get_mut("health") {
            self.health(health, &at.key("health"));
        }
        if let Some(Value::Object(workers)) = app.get_mut("workers") {
            for key in ["scaleUpELU", "scaleDownELU"] {
                if workers.remove(key).is_some() {
                    self.warn(
                        &at.key("workers").key(key),
                        "the scaler's thresholds are the same for every application: set them on the top-level workers",
                    );
                }
            }
        }
        if app.remove("url").is_some() {
            let why = if app.contains_key("path") {
                "the application runs from its path"
            } else {
                "applications are not cloned from a url; clone it and give its path"
            };
            self.warn(&at.key("url"), why);
        }
    }

    /// `telemetry.enabled` may come from a `{PLACEHOLDER}`; Watt's list of exporters is
    /// read as its first entry.
    fn telemetry(&mut self, top: &mut Map<String, Value>, root: &KeyPath) {
        let Some(Value::Object(telemetry)) = top.get_mut("telemetry") else {
            return;
        };
        let at = root.key("telemetry");
        flag(telemetry, "enabled");
        if let Some(Value::Array(list)) = telemetry.get_mut("exporter") {
            let rest: Vec<Value> = list.drain(1.min(list.len())..).collect();
            let first = list.pop();
            for i in 0..rest.len() {
                self.warn(
                    &at.key("exporter").index(i + 1),
                    "spans go to one exporter, the first listed",
                );
            }
            match first {
                Some(first) => {
                    telemetry.insert("exporter".into(), first);
                }
                None => {
                    telemetry.remove("exporter");
                }
            }
        }
    }

    fn health(&mut self, health: &mut Map<String, Value>, at: &KeyPath) {
        self.drop_keys(health, at, HEALTH);
        flag(health, "enabled");
    }

    /// `metrics: true` is every default, `false` no admin server; an object may say
    /// `enabled` with a `{PLACEHOLDER}`.
    fn metrics(&mut self, top: &mut Map<String, Value>, root: &KeyPath) {
        flag(top, "metrics");
        let at = root.key("metrics");
        match top.get_mut("metrics") {
            Some(Value::Bool(enabled)) => {
                let enabled = *enabled;
                let mut object = Map::new();
                object.insert("enabled".into(), Value::Bool(enabled));
                top.insert("metrics".into(), Value::Object(object));
            }
            Some(Value::Object(metrics)) => {
                self.drop_keys(metrics, &at, METRICS);
                flag(metrics, "enabled");
            }
            _ => {}
        }
    }

    /// Watt's top-level `workers` as a number (or a string holding one) is every
    /// application's default count: the object's `static`.
    fn workers(&mut self, top: &mut Map<String, Value>, root: &KeyPath) {
        match top.get_mut("workers") {
            Some(count @ (Value::Number(_) | Value::String(_))) => {
                let mut object = Map::new();
                object.insert("static".into(), count.take());
                *count = Value::Object(object);
            }
            Some(Value::Object(workers)) => {
                let Some(_) = workers.remove("maxMemory") else {
                    return;
                };
                self.warn(
                    &root.key("workers").key("maxMemory"),
                    "the scaler does not measure memory; health.maxHeapTotal caps each worker's heap",
                );
            }
            _ => {}
        }
    }

    /// Spindle restarts a crashed worker at once after a good start, and backs off
    /// (100 ms doubling to 10 s) in a crash loop, which `maxFailedStarts` ends. That is what
    /// Watt does with `true` under `wattpm start`; a delay or `false` has no equivalent.
    fn restart_on_error(&mut self, object: &mut Map<String, Value>, at: &KeyPath) {
        let Some(value) = object.remove("restartOnError") else {
            return;
        };
        let at = at.key("restartOnError");
        let why = match value {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                "crashed workers are always restarted (at once after a good start, with backoff \
                 in a crash loop that maxFailedStarts ends)"
            }
            Value::Number(n) if n.as_f64() == Some(0.0) => {
                "crashed workers are always restarted (at once after a good start, with backoff \
                 in a crash loop that maxFailedStarts ends)"
            }
            _ => {
                "a crashed worker is restarted at once after a good start, and after 100 ms \
                 doubling to 10 s in a crash loop; the delay given is not used"
            }
        };
        self.warn(&at, why);
    }

    /// Watt takes a number of milliseconds to wait before ending the worker; Spindle ends it
    /// at once.
    fn exit_on_unhandled_errors(&mut self, object: &mut Map<String, Value>, at: &KeyPath) {
        if let Some(Value::Number(n)) = object.get("exitOnUnhandledErrors") {
            let exits = n.as_f64().is_some_and(|ms| ms > 0.0);
            object.insert("exitOnUnhandledErrors".into(), Value::Bool(exits));
            if exits {
                self.warn(
                    &at.key("exitOnUnhandledErrors"),
                    "the delay is not used: the worker is ended at once and replaced",
                );
            }
        }
    }

    /// `preload` may be one path or a list.
    fn preload(&mut self, object: &mut Map<String, Value>, _at: &KeyPath) {
        if let Some(Value::String(one)) = object.get_mut("preload") {
            let one = std::mem::take(one);
            object.insert("preload".into(), Value::Array(vec![Value::String(one)]));
        }
    }
}

/// A boolean that came as a string from a `{PLACEHOLDER}` becomes a boolean.
fn flag(object: &mut Map<String, Value>, key: &str) {
    if let Some(value @ Value::String(_)) = object.get_mut(key) {
        let parsed = match value.as_str().map(str::trim) {
            Some("true") => true,
            Some("false") => false,
            _ => return,
        };
        *value = Value::Bool(parsed);
    }
}
