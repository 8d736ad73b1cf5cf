//! `telemetry`: OpenTelemetry traces and where they are exported.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::object::Object;

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

fn default_telemetry_enabled() -> bool {
    true
}

fn default_exporter_type() -> String {
    "console".to_owned()
}
