//! OpenTelemetry traces made by the core (`telemetry`): a server span per public
//! request, a client and a server span per mesh call, and a W3C `traceparent` (with the
//! client's `tracestate`) in the head each application receives, so an app's own
//! OpenTelemetry instrumentation joins the same trace.
//!
//! Spans are handed to the SDK's batch processor, which keeps them in a bounded queue
//! (dropping, and counting, what does not fit) and exports them over OTLP/HTTP from its own
//! thread: ending a span never waits on the exporter. With telemetry off the data path
//! holds `None` and pays one branch per request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, Span,
};
use opentelemetry_sdk::Resource;
use spindle_config::TelemetryConfig;

/// Spans waiting for export; past this they are dropped (and counted by the SDK).
const MAX_QUEUE: usize = 4096;
/// Spans per export.
const MAX_BATCH: usize = 512;
/// How long a span may wait before its batch goes, when the batch does not fill first.
const EXPORT_EVERY: Duration = Duration::from_millis(500);
/// The longest an export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the last export may take at shutdown.
const FLUSH_AT_SHUTDOWN: Duration = Duration::from_secs(3);

/// A W3C trace context (`traceparent`, version 00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value. Versions other than 00 are read as 00 (as the
    /// specification asks), `ff` and all-zero ids are invalid.
    pub fn parse(value: &[u8]) -> Option<TraceParent> {
        let value = value.trim_ascii();
        if value.len() < 55 {
            return None;
        }
        let version = hex_byte(&value[0..2])?;
        if version == 0xff || (version == 0 && value.len() != 55) {
            return None;
        }
        if value.len() > 55 && value[55] != b'-' {
            return None;
        }
        if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let mut trace_id = [0u8; 16];
        for (i, byte) in trace_id.iter_mut().enumerate() {
            *byte = hex_byte(&value[3 + 2 * i..5 + 2 * i])?;
        }
        let mut span_id = [0u8; 8];
        for (i, byte) in span_id.iter_mut().enumerate() {
            *byte = hex_byte(&value[36 + 2 * i..38 + 2 * i])?;
        }
        let flags = hex_byte(&value[53..55])?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id,
            span_id,
            flags,
        })
    }

    /// Appends the value, `00-<trace id>-<span id>-<flags>`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"00-");
        push_hex(out, &self.trace_id);
        out.push(b'-');
        push_hex(out, &self.span_id);
        out.push(b'-');
        push_hex(out, &[self.flags]);
    }

    fn of(cx: &SpanContext) -> TraceParent {
        TraceParent {
            trace_id: cx.trace_id().to_bytes(),
            span_id: cx.span_id().to_bytes(),
            flags: cx.trace_flags().to_u8(),
        }
    }
}

/// Lower-case hex only, as the specification writes it.
fn hex_byte(two: &[u8]) -> Option<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    Some(digit(two[0])? << 4 | digit(two[1])?)
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

/// What a request brought of a trace: its `traceparent`, parsed, and `tracestate` as sent.
#[derive(Default)]
pub struct Incoming<'a> {
    pub parent: Option<TraceParent>,
    pub state: Option<&'a str>,
}

impl<'a> Incoming<'a> {
    /// Reads the trace headers of a request head.
    pub fn of(headers: &[httparse::Header<'a>]) -> Incoming<'a> {
        let mut incoming = Incoming::default();
        for h in headers {
            if h.name.eq_ignore_ascii_case("traceparent") {
                // Two traceparents: neither is believed.
                incoming.parent = match incoming.parent {
                    None => TraceParent::parse(h.value),
                    Some(_) => return Incoming::default(),
                };
            } else if h.name.eq_ignore_ascii_case("tracestate") {
                incoming.state = std::str::from_utf8(h.value).ok().map(str::trim);
            }
        }
        incoming
    }
}

/// The tracer of a running server.
pub struct Telemetry {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    config: TelemetryConfig,
}

/// A request about to be traced.
pub struct Request<'a> {
    pub hop: Hop<'a>,
    pub app: &'a str,
    pub method: &'a str,
    /// The request target as the client wrote it.
    pub target: &'a str,
    /// Its path, without the query.
    pub path: &'a str,
    pub incoming: Incoming<'a>,
}

/// Which hop a request is.
#[derive(Clone, Copy)]
pub enum Hop<'a> {
    /// From a client, on the public port.
    Public,
    /// From app `caller`, over the mesh.
    Mesh { caller: &'a str },
}

impl Telemetry {
    /// Builds the exporter and its batch processor (whose thread starts here).
    pub fn start(config: &TelemetryConfig) -> Result<Arc<Telemetry>, String> {
        let headers: HashMap<String, String> = config
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(config.url.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(headers)
            .build()
            .map_err(|e| format!("telemetry exporter: {e}"))?;
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUE)
            .with_max_export_batch_size(MAX_BATCH)
            .with_scheduled_delay(EXPORT_EVERY)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch)
            .build();
        let mut resource = Resource::builder_empty().with_service_name(config.service_name.clone());
        if let Some(version) = &config.version {
            resource = resource.with_attribute(KeyValue::new("service.version", version.clone()));
        }
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .with_resource(resource.build())
            .with_span_processor(processor)
            .build();
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "spindle");
        Ok(Arc::new(Telemetry {
            provider,
            tracer,
            config: config.clone(),
        }))
    }

    /// Exports what is queued and stops the exporter's thread.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown_with_timeout(FLUSH_AT_SHUTDOWN) {
            tracing::warn!(error = %e, "telemetry: the last spans were not exported");
        }
    }

    /// Opens the spans of one request to `app` and appends the trace header lines the
    /// worker gets to `lines`. `None` for a request `telemetry.skip` names; its own
    /// trace headers, if any, then pass on untouched.
    pub fn begin(&self, req: &Request<'_>, lines: &mut Vec<u8>) -> Option<RequestSpans> {
        let Request {
            hop,
            app,
            method,
            target,
            path,
            ref incoming,
        } = *req;
        if self.config.skips(method, path) {
            return None;
        }
        let state = incoming
            .state
            .and_then(|s| s.parse::<TraceState>().ok())
            .unwrap_or_default();
        let mut parent = Context::new();
        if let Some(p) = incoming.parent {
            parent = parent.with_remote_span_context(SpanContext::new(
                TraceId::from_bytes(p.trace_id),
                SpanId::from_bytes(p.span_id),
                TraceFlags::new(p.flags),
                true,
                state,
            ));
        }
        let name = format!("{method} {path}");
        let client = match hop {
            Hop::Public => None,
            Hop::Mesh { caller } => {
                let span = self
                    .tracer
                    .span_builder(name.clone())
                    .with_kind(SpanKind::Client)
                    .with_attributes([
                        KeyValue::new("http.request.method", method.to_owned()),
                        KeyValue::new("url.full", format!("http://{app}.plt.local{target}")),
                        KeyValue::new("server.address", format!("{app}.plt.local")),
                        KeyValue::new("spindle.caller", caller.to_owned()),
                        KeyValue::new("spindle.app", app.to_owned()),
                    ])
                    .start_with_context(&self.tracer, &parent);
                parent = parent.with_remote_span_context(span.span_context().clone());
                Some(span)
            }
        };
        let server = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", method.to_owned()),
                KeyValue::new("url.path", path.to_owned()),
                KeyValue::new("http.target", target.to_owned()),
                KeyValue::new("spindle.app", app.to_owned()),
            ])
            .start_with_context(&self.tracer, &parent);
        let cx = server.span_context();
        lines.extend_from_slice(b"traceparent: ");
        TraceParent::of(cx).write(lines);
        lines.extend_from_slice(b"\r\n");
        let state = cx.trace_state().header();
        if !state.is_empty() {
            lines.extend_from_slice(b"tracestate: ");
            lines.extend_from_slice(state.as_bytes());
            lines.extend_from_slice(b"\r\n");
        }
        Some(RequestSpans { server, client })
    }
}

/// The open spans of one request; ended with [`RequestSpans::end`] (or when dropped, with
/// no status).
pub struct RequestSpans {
    server: Span,
    client: Option<Span>,
}

impl RequestSpans {
    /// The request waited `waited` in the app's queue for a worker.
    pub fn queued(&mut self, waited: Duration) {
        self.server.add_event(
            "queued",
            vec![KeyValue::new(
                "spindle.queue.wait_ms",
                waited.as_secs_f64() * 1000.0,
            )],
        );
    }

    /// Worker `worker` took it.
    pub fn worker(&mut self, worker: &str) {
        self.server
            .set_attribute(KeyValue::new("spindle.worker", worker.to_owned()));
    }

    /// The worker failed before answering; the request goes to another.
    pub fn retry(&mut self, worker: &str, cause: &str) {
        self.server.add_event(
            "retry",
            vec![
                KeyValue::new("spindle.worker", worker.to_owned()),
                KeyValue::new("error.message", cause.to_owned()),
            ],
        );
    }

    /// The request ended with `status` (0: no answer reached the client).
    pub fn end(mut self, status: u16) {
        for span in std::iter::once(&mut self.server).chain(self.client.as_mut()) {
            if status != 0 {
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
            }
            if status >= 500 || status == 0 {
                span.set_status(Status::error(if status == 0 {
                    "no answer".into()
                } else {
                    format!("{status}")
                }));
            }
        }
        self.server.end();
        if let Some(mut client) = self.client.take() {
            client.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_writes_back() {
        let p = TraceParent::parse(SAMPLE.as_bytes()).expect("valid");
        assert_eq!(p.trace_id[0], 0x4b);
        assert_eq!(p.span_id[7], 0xb7);
        assert_eq!(p.flags, 1);
        let mut out = Vec::new();
        p.write(&mut out);
        assert_eq!(out, SAMPLE.as_bytes());
    }

    #[test]
    fn refuses_what_the_specification_refuses() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_is_read_as_00() {
        let later = format!("01{}-what-comes-next", &SAMPLE[2..]);
        assert!(TraceParent::parse(later.as_bytes()).is_some());
        assert!(TraceParent::parse(format!(" {SAMPLE} ").as_bytes()).is_some());
    }

    #[test]
    fn incoming_headers() {
        let headers = [
            httparse::Header {
                name: "TraceParent",
                value: SAMPLE.as_bytes(),
            },
            httparse::Header {
                name: "tracestate",
                value: b"vendor=1",
            },
        ];
        let incoming = Incoming::of(&headers);
        assert_eq!(incoming.parent, TraceParent::parse(SAMPLE.as_bytes()));
        assert_eq!(incoming.state, Some("vendor=1"));
        let twice = [headers[0], headers[0]];
        assert!(Incoming::of(&twice).parent.is_none());
    }
}
