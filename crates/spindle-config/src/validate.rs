//! The second layer: raw values checked and turned into the typed [`Config`].

use std::collections::BTreeMap;

use crate::apps;
use crate::check::{hostname, invalid, millis, port, positive_millis};
use crate::config::{
    AppDefaults, Config, GracefulShutdown, LoggerConfig, MetricsConfig, ServerConfig,
};
use crate::context::Context;
use crate::edge::{self, RawEdge};
use crate::entrypoint;
use crate::envfile;
use crate::error::{io_message, ConfigError, ErrorKind, Reporter};
use crate::https;
use crate::integer::Integer;
use crate::keypath::KeyPath;
use crate::metrics;
use crate::object::Object;
use crate::policies;
use crate::prefixes;
use crate::raw::RawConfig;
use crate::supervision::{self, Layer, Level, RawFaults};
use crate::workers::Scaling;

/// Checks `raw` and builds the [`Config`] (with `source` left for the caller to set).
/// `list` is the key the applications were given under (`applications` or a Watt alias), so
/// errors name what the user wrote.
pub(crate) fn validate(
    raw: RawConfig,
    list: &KeyPath,
    cx: &Context<'_>,
) -> Result<Config, ConfigError> {
    let RawConfig {
        _schema: _,
        _module: _,
        entrypoint: top_level_entrypoint,
        applications,
        autoload,
        server: Object(mut server),
        graceful_shutdown: Object(shutdown),
        metrics: Object(metrics),
        telemetry,
        logger: Object(logger),
        health: Object(health),
        max_failed_starts,
        max_in_flight_per_worker,
        queue_timeout,
        exit_on_unhandled_errors,
        standby_workers,
        response_timeout,
        application_timeout,
        policies: Object(policies),
        workers: Object(workers),
        env: top_env,
        envfile: top_envfile,
        watch,
        management_api,
        start_timeout,
        preload,
        source_maps,
    } = raw;

    let prefixes = std::mem::take(&mut server.routes);
    let http2 = server.http2;
    let server_at = KeyPath::root().key("server");
    let edge = RawEdge {
        headers_timeout: server.headers_timeout,
        keep_alive_timeout: server.keep_alive_timeout,
        body_timeout: server.body_timeout,
        max_connections: server.max_connections,
        max_body_size: server.max_body_size,
        trust_proxy: server.trust_proxy,
    };
    let mut server = ServerConfig {
        hostname: hostname(server.hostname, &server_at.key("hostname"), &cx.report)?,
        port: port(server.port, &server_at.key("port"), &cx.report)?,
        backlog: server
            .backlog
            .map(|value| backlog(value, &server_at.key("backlog"), &cx.report))
            .transpose()?,
        // Filled in once the applications are known.
        routes: Vec::new(),
        edge: edge::read(edge, &server_at, &cx.report)?,
        https: https::read(server.https, &server_at, cx.root, &cx.report, cx.warnings)?,
        http2,
    };
    let shutdown_at = KeyPath::root().key("gracefulShutdown");
    let graceful_shutdown = GracefulShutdown {
        runtime: millis(shutdown.runtime, &shutdown_at.key("runtime"), &cx.report)?,
        application: millis(
            shutdown.application,
            &shutdown_at.key("application"),
            &cx.report,
        )?,
        close_connections: shutdown.close_connections,
    };
    let metrics_at = KeyPath::root().key("metrics");
    let metrics = metrics::read(metrics, cx)?;
    if metrics.enabled && shares_port(&server, &metrics) {
        let message = format!("port {} is already used by server.port", metrics.port);
        let at = metrics_at.key("port");
        return Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message));
    }
    let telemetry = crate::telemetry::read(telemetry.map(|Object(t)| t), &cx.report, cx.warnings)?;
    let logger = LoggerConfig {
        level: logger.level,
    };
    let application_timeout = positive_millis(
        application_timeout,
        &KeyPath::root().key("applicationTimeout"),
        &cx.report,
    )?;
    // serde has filled in the defaults, so the top level always holds these.
    let faults = RawFaults {
        max_failed_starts: Some(max_failed_starts),
        max_in_flight_per_worker: Some(max_in_flight_per_worker),
        queue_timeout: Some(queue_timeout),
        exit_on_unhandled_errors: Some(exit_on_unhandled_errors),
        standby_workers,
        response_timeout: Some(response_timeout),
    };
    let top = Layer::read(
        Some(health),
        faults,
        &KeyPath::root(),
        Level::TopLevel,
        &cx.report,
    )?;
    let scaling = Scaling::read(workers, cx)?;
    let (health, faults) = supervision::resolve(&top, &Layer::default(), &cx.report)?;
    let envfile = match top_envfile {
        Some(name) => {
            let file = crate::entry::clean(&cx.root.join(&name));
            envfile::read_required(&file).map_err(|error| match error {
                envfile::ReadError::Parse(error) => error,
                envfile::ReadError::Io(error) => {
                    let message = format!("cannot read {}: {}", file.display(), io_message(&error));
                    let at = KeyPath::root().key("envfile");
                    cx.report.at_value(&at, ErrorKind::NotFound, message)
                }
            })?
        }
        None => BTreeMap::new(),
    };
    let app_defaults = AppDefaults {
        health,
        faults,
        env: top_env,
        envfile,
        preload: crate::apps::preload_options(&preload, cx.root),
        source_maps,
        start_timeout: positive_millis(
            start_timeout,
            &KeyPath::root().key("startTimeout"),
            &cx.report,
        )?,
    };
    let cx = &Context {
        defaults: &app_defaults,
        ..*cx
    };

    let mut declared = apps::declared(applications, list, &top, &scaling, cx)?;
    if let Some(Object(autoload)) = autoload {
        let dir = crate::entry::clean(&cx.root.join(&autoload.path));
        let found = apps::autoloaded(autoload, &declared, &top, &scaling, cx)?;
        if declared.is_empty() && found.is_empty() {
            let message = format!("no applications found in {}", dir.display());
            let at = KeyPath::root().key("autoload").key("path");
            return Err(cx.report.at_value(&at, ErrorKind::NotFound, message));
        }
        declared.extend(found);
    }
    if declared.is_empty() {
        let message = "no applications (add some, or an \"autoload\" directory)";
        return Err(cx.report.at_value(list, ErrorKind::MissingKey, message));
    }
    scaling.check_total(&declared, cx)?;
    crate::dependencies::check(&declared, cx)?;
    let entrypoint = entrypoint::choose(top_level_entrypoint.as_deref(), &declared, cx)?;
    let policies = policies::read(policies, &declared, cx)?;
    server.routes = prefixes::read(prefixes, &declared, cx)?;
    let applications = declared
        .into_iter()
        .map(|app| apps::finish(app, server.port, cx))
        .collect::<Result<_, _>>()?;

    Ok(Config {
        source: None,
        root: cx.root.to_owned(),
        entrypoint,
        applications,
        server,
        graceful_shutdown,
        metrics,
        telemetry,
        logger,
        application_timeout,
        policies,
        scaling: scaling.config,
        management_api,
        watch,
        warnings: Vec::new(),
        app_defaults: app_defaults.clone(),
    })
}

/// Whether the admin server would try to bind the public server's port. Port 0 never
/// clashes (each gets its own free port); an unspecified address overlaps every interface.
fn shares_port(server: &ServerConfig, metrics: &MetricsConfig) -> bool {
    let wildcard = |host: &str| matches!(host, "0.0.0.0" | "::" | "[::]");
    server.port != 0
        && server.port == metrics.port
        && (server.hostname == metrics.hostname
            || wildcard(&server.hostname)
            || wildcard(&metrics.hostname))
}

/// `listen(2)`'s backlog: at least 1; the kernel caps it at `somaxconn`.
fn backlog(value: Integer, at: &KeyPath, report: &Reporter<'_>) -> Result<u32, ConfigError> {
    match u32::try_from(value.0) {
        Ok(n) if n >= 1 && n <= i32::MAX as u32 => Ok(n),
        _ => {
            let message = format!("expected a positive integer, got {value}");
            Err(invalid(at, message, report))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(hostname: &str, port: u16) -> ServerConfig {
        ServerConfig {
            hostname: hostname.into(),
            port,
            ..ServerConfig::default()
        }
    }

    fn metrics(hostname: &str, port: u16) -> MetricsConfig {
        MetricsConfig {
            hostname: hostname.into(),
            port,
            ..MetricsConfig::default()
        }
    }

    #[test]
    fn port_clashes_need_the_same_port_and_overlapping_hosts() {
        assert!(shares_port(
            &server("127.0.0.1", 80),
            &metrics("127.0.0.1", 80)
        ));
        assert!(shares_port(
            &server("0.0.0.0", 80),
            &metrics("127.0.0.1", 80)
        ));
        assert!(!shares_port(
            &server("10.0.0.1", 80),
            &metrics("127.0.0.1", 80)
        ));
        assert!(!shares_port(
            &server("127.0.0.1", 0),
            &metrics("127.0.0.1", 0)
        ));
        assert!(!shares_port(
            &server("127.0.0.1", 80),
            &metrics("127.0.0.1", 81)
        ));
    }
}
