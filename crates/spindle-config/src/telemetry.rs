//! The `telemetry` key (Watt's): OpenTelemetry traces the core makes and exports.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{ConfigError, ErrorKind, Reporter};
use crate::keypath::KeyPath;
use crate::object::Object;
use crate::raw::telemetry::RawTelemetry;
use crate::warning::Warning;

/// Where OTLP spans go when `exporter.options.url` is not given (the collector's default).
pub const DEFAULT_OTLP_URL: &str = "http://localhost:4318/v1/traces";
/// `service.name` when `applicationName` is not given.
pub const DEFAULT_SERVICE_NAME: &str = "spindle";

/// Traces made and exported by the core; present only when enabled with an exporter that
/// works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TelemetryConfig {
    /// `service.name` of every span.
    pub service_name: String,
    /// `service.version`, when given.
    pub version: Option<String>,
    /// The OTLP/HTTP endpoint spans are posted to.
    pub url: String,
    /// Headers sent with every export.
    pub headers: BTreeMap<String, String>,
    /// Requests that get no span.
    pub skip: Vec<TelemetrySkip>,
}

/// A request that gets no span: this exact path, with this method or any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TelemetrySkip {
    pub path: String,
    pub method: Option<String>,
}

impl TelemetryConfig {
    /// Whether a request to `path` (without its query) with `method` gets no span.
    pub fn skips(&self, method: &str, path: &str) -> bool {
        self.skip.iter().any(|skip| {
            skip.path == path
                && skip
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })
    }
}

/// Checks `telemetry`. `None` when it is absent, disabled, or names an exporter Spindle
/// does not have (with a warning in `warnings`).
pub(crate) fn read(
    raw: Option<RawTelemetry>,
    report: &Reporter<'_>,
    warnings: &RefCell<Vec<Warning>>,
) -> Result<Option<TelemetryConfig>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let at = KeyPath::root().key("telemetry");
    if !raw.enabled {
        return Ok(None);
    }
    let Object(exporter) = raw.exporter;
    let exporter_at = at.key("exporter");
    match exporter.kind.as_str() {
        "otlp" => {}
        "console" | "zipkin" | "file" | "memory" => {
            let why = format!(
                "has no effect in Spindle: the core exports spans over OTLP/HTTP only; no spans are made (write \"type\": \"otlp\" and send them to a collector){}",
                if exporter.kind == "zipkin" {
                    ", which can forward them to Zipkin"
                } else {
                    ""
                }
            );
            warnings
                .borrow_mut()
                .push(report.warn(&exporter_at.key("type"), why));
            return Ok(None);
        }
        other => {
            let message = format!(
                "unknown exporter {other:?}; expected \"otlp\", \"console\", \"zipkin\", \"file\" or \"memory\""
            );
            return Err(report.at_value(
                &exporter_at.key("type"),
                ErrorKind::InvalidValue,
                message,
            ));
        }
    }
    let Object(options) = exporter.options;
    let options_at = exporter_at.key("options");
    let url = options.url.unwrap_or_else(|| DEFAULT_OTLP_URL.to_owned());
    if let Err(why) = check_url(&url) {
        return Err(report.at_value(&options_at.key("url"), ErrorKind::InvalidValue, why));
    }
    if options.path.is_some() {
        warnings.borrow_mut().push(report.warn(
            &options_at.key("path"),
            "has no effect in Spindle: only the file exporter writes to a path".to_owned(),
        ));
    }
    let service_name = match raw.application_name {
        Some(name) if name.trim().is_empty() => {
            return Err(report.at_value(
                &at.key("applicationName"),
                ErrorKind::InvalidValue,
                "must not be empty".to_owned(),
            ));
        }
        Some(name) => name,
        None => DEFAULT_SERVICE_NAME.to_owned(),
    };
    let mut skip = Vec::with_capacity(raw.skip.len());
    for (i, Object(entry)) in raw.skip.into_iter().enumerate() {
        if !entry.path.starts_with('/') {
            return Err(report.at_value(
                &at.key("skip").index(i).key("path"),
                ErrorKind::InvalidValue,
                format!("{:?} must start with \"/\"", entry.path),
            ));
        }
        skip.push(TelemetrySkip {
            path: entry.path,
            method: entry.method.map(|m| m.to_ascii_uppercase()),
        });
    }
    Ok(Some(TelemetryConfig {
        service_name,
        version: raw.version,
        url,
        headers: options.headers,
        skip,
    }))
}

/// An OTLP/HTTP endpoint: `http://host[:port]/path`. No TLS stack is linked.
fn check_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!(
            "{url:?} is not an http:// URL (Spindle exports over plain HTTP; put a collector next to it for TLS)"
        ));
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(format!("{url:?} names no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(skip: Vec<TelemetrySkip>) -> TelemetryConfig {
        TelemetryConfig {
            service_name: "x".into(),
            version: None,
            url: DEFAULT_OTLP_URL.into(),
            headers: BTreeMap::new(),
            skip,
        }
    }

    #[test]
    fn skips_exact_paths_and_methods() {
        let c = config(vec![
            TelemetrySkip {
                path: "/health".into(),
                method: None,
            },
            TelemetrySkip {
                path: "/login".into(),
                method: Some("POST".into()),
            },
        ]);
        assert!(c.skips("GET", "/health"));
        assert!(c.skips("HEAD", "/health"));
        assert!(!c.skips("GET", "/health/x"));
        assert!(c.skips("POST", "/login"));
        assert!(!c.skips("GET", "/login"));
    }

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:4318/v1/traces").is_ok());
        assert!(check_url("https://collector/v1/traces").is_err());
        assert!(check_url("http:///v1/traces").is_err());
    }
}
