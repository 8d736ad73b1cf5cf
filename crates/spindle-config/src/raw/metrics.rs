//! `metrics`: the admin server, its probes and the Prometheus endpoint.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{
    DEFAULT_APPLICATION_LABEL, DEFAULT_METRICS_ENABLED, DEFAULT_METRICS_ENDPOINT,
    DEFAULT_METRICS_HOSTNAME, DEFAULT_METRICS_PORT, DEFAULT_WORKER_LABEL,
};
use crate::integer::Integer;
use crate::object::Object;

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
