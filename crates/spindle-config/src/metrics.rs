//! The `metrics` key: the admin server's address, the metrics endpoint, its auth and labels.

use std::collections::BTreeMap;

use crate::check::{hostname, port};
use crate::config::{MetricsAuth, MetricsConfig, DEFAULT_APPLICATION_LABEL, DEFAULT_WORKER_LABEL};
use crate::context::Context;
use crate::error::{ConfigError, ErrorKind};
use crate::keypath::KeyPath;
use crate::object::Object;
use crate::raw::metrics::{RawMetrics, RawMetricsAuth};

/// Paths the admin server answers itself; the metrics endpoint cannot take one of them.
const PROBE_PATHS: [&str; 3] = ["/live", "/ready", "/status"];

/// Labels Spindle puts on its own metrics; a static label of the same name would clash.
const RESERVED_LABELS: [&str; 18] = [
    "app",
    "worker",
    "state",
    "reason",
    "method",
    "code_class",
    "status_code",
    "route",
    "le",
    "quantile",
    "version",
    "major",
    "minor",
    "patch",
    "direction",
    "kind",
    "type",
    "space",
];

/// The rule for label names, as stated in error messages.
const LABEL_RULE: &str = "expected letters, digits and \"_\", not starting with a digit or \"__\"";

/// Checks the `metrics` key (except the port clash with the public server, which needs both).
pub(crate) fn read(raw: RawMetrics, cx: &Context<'_>) -> Result<MetricsConfig, ConfigError> {
    let at = KeyPath::root().key("metrics");
    let hostname = hostname(raw.hostname, &at.key("hostname"), &cx.report)?;
    let port = port(raw.port, &at.key("port"), &cx.report)?;
    let endpoint = endpoint(raw.endpoint, &at.key("endpoint"), cx)?;
    let auth = raw
        .auth
        .map(|Object(raw)| auth(raw, &at.key("auth"), cx))
        .transpose()?;
    let application_label = label_name(
        raw.application_label,
        DEFAULT_APPLICATION_LABEL,
        &at.key("applicationLabel"),
        cx,
    )?;
    let worker_label = label_name(
        raw.worker_label,
        DEFAULT_WORKER_LABEL,
        &at.key("workerLabel"),
        cx,
    )?;
    if worker_label == application_label {
        let message = format!(
            "label {worker_label:?} is already the application label (metrics.applicationLabel)"
        );
        return Err(cx
            .report
            .at_value(&at.key("workerLabel"), ErrorKind::InvalidValue, message));
    }
    let labels = labels(raw.labels, &at.key("labels"), cx)?;
    for (name, key) in [
        (&application_label, "applicationLabel"),
        (&worker_label, "workerLabel"),
    ] {
        if labels.contains_key(name) {
            let message = format!("label {name:?} is already used by Spindle (metrics.{key})");
            return Err(cx.report.at_key(
                &at.key("labels").key(name),
                ErrorKind::InvalidValue,
                message,
            ));
        }
    }
    Ok(MetricsConfig {
        enabled: raw.enabled,
        hostname,
        port,
        endpoint,
        auth,
        labels,
        application_label,
        worker_label,
    })
}

/// `applicationLabel` or `workerLabel`: a label name no other label of Spindle's uses.
fn label_name(
    name: String,
    default: &str,
    at: &KeyPath,
    cx: &Context<'_>,
) -> Result<String, ConfigError> {
    let fail = |message: String| Err(cx.report.at_value(at, ErrorKind::InvalidValue, message));
    if !is_label_name(&name) {
        return fail(format!("invalid label name {name:?} ({LABEL_RULE})"));
    }
    if name != default && RESERVED_LABELS.contains(&name.as_str()) {
        return fail(format!(
            "label {name:?} is already used by Spindle (reserved: {})",
            RESERVED_LABELS.join(", ")
        ));
    }
    Ok(name)
}

fn endpoint(value: String, at: &KeyPath, cx: &Context<'_>) -> Result<String, ConfigError> {
    let fail = |message: String| Err(cx.report.at_value(at, ErrorKind::InvalidValue, message));
    if !value.starts_with('/')
        || value.contains(|c: char| c.is_whitespace() || c == '?' || c == '#')
    {
        return fail(format!(
            "expected a path starting with \"/\" (without spaces, \"?\" or \"#\"), got {value:?}"
        ));
    }
    if PROBE_PATHS.contains(&value.as_str()) {
        return fail(format!(
            "path {value:?} is already used by a probe (/live, /ready and /status are reserved)"
        ));
    }
    Ok(value)
}

fn auth(raw: RawMetricsAuth, at: &KeyPath, cx: &Context<'_>) -> Result<MetricsAuth, ConfigError> {
    let non_empty = |value: String, key: &str| {
        if value.is_empty() {
            let message = "expected a non-empty string, got \"\"";
            return Err(cx
                .report
                .at_value(&at.key(key), ErrorKind::InvalidValue, message));
        }
        Ok(value)
    };
    Ok(MetricsAuth {
        username: non_empty(raw.username, "username")?,
        password: non_empty(raw.password, "password")?,
    })
}

/// Label names are checked where they are written: errors point at the key, not its value.
fn labels(
    labels: BTreeMap<String, String>,
    at: &KeyPath,
    cx: &Context<'_>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    for name in labels.keys() {
        let fail = |message: String| {
            Err(cx
                .report
                .at_key(&at.key(name), ErrorKind::InvalidValue, message))
        };
        if !is_label_name(name) {
            return fail(format!("invalid label name {name:?} ({LABEL_RULE})"));
        }
        if RESERVED_LABELS.contains(&name.as_str()) {
            return fail(format!(
                "label {name:?} is already used by Spindle (reserved: {})",
                RESERVED_LABELS.join(", ")
            ));
        }
    }
    Ok(labels)
}

/// Whether `name` is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`) that is not reserved
/// for Prometheus' internal use (`__` prefix).
fn is_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match bytes.first() {
        Some(first) if first.is_ascii_alphabetic() || *first == b'_' => {
            !name.starts_with("__")
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_follow_prometheus() {
        for good in ["region", "_", "_a", "a_1", "Zone", "x__y"] {
            assert!(is_label_name(good), "{good}");
        }
        for bad in ["", "1a", "__name__", "__", "a-b", "a.b", "é", "a b"] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }
}
