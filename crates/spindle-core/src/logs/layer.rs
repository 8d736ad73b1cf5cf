//! The coordinator's own `tracing` events, rendered into the sink in the same format as
//! worker output so one stream holds the whole story.

use std::sync::Arc;

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::field::FieldValue;
use super::field::{Collector, Fields};
use super::level;
use super::render;
use super::sink::Shared;

/// Formats events with their fields and the fields of every span they are in.
pub(crate) struct EventLayer {
    sink: Arc<Shared>,
}

/// A span's recorded fields, kept in the registry's per-span extensions.
struct SpanFields(Fields);

impl EventLayer {
    pub(crate) fn new(sink: Arc<Shared>) -> EventLayer {
        EventLayer { sink }
    }
}

impl<S> Layer<S> for EventLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut collector = Collector::default();
        attrs.record(&mut collector);
        if collector.fields.is_empty() {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(collector.fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let fields = extensions
            .remove::<SpanFields>()
            .map(|f| f.0)
            .unwrap_or_default();
        let mut collector = Collector {
            message: None,
            fields,
        };
        values.record(&mut collector);
        extensions.insert(SpanFields(collector.fields));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut collector = Collector::default();
        event.record(&mut collector);
        let mut fields = collector.fields;
        // Innermost span first, and a name already present is skipped: the event's own
        // fields win over its spans', and an inner span's over an outer one's, without
        // writing a key twice.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let extensions = span.extensions();
                let Some(SpanFields(span_fields)) = extensions.get::<SpanFields>() else {
                    continue;
                };
                for (name, value) in span_fields {
                    if !fields.iter().any(|(present, _)| present == name) {
                        fields.push((name, value.clone()));
                    }
                }
            }
        }
        let metadata = event.metadata();
        let event = render::Event {
            level: level::from_tracing(metadata.level()),
            time: (self.sink.now_ms)(),
            origin: &self.sink.origin,
            target: metadata.target(),
            msg: collector.message.as_deref().unwrap_or(""),
            fields: &fields,
        };
        // A coordinator line about an app or one of its workers belongs to that app's
        // logs too (`spindle logs web` shows "worker crashed" for web:0).
        let app: Option<std::sync::Arc<str>> =
            fields
                .iter()
                .find_map(|(name, value)| match (*name, value) {
                    ("app", FieldValue::Str(app)) => Some(app.as_str().into()),
                    ("worker", FieldValue::Str(worker)) => {
                        worker.rsplit_once(':').map(|(app, _)| app.into())
                    }
                    _ => None,
                });
        self.sink.emit(app.as_ref(), |style| style.event(&event));
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::super::test_support::{json_sink, sink};
    use super::super::{Format, LogSink};

    fn capture(sink: &LogSink, max: tracing::Level, f: impl FnOnce()) {
        let subscriber = tracing_subscriber::registry().with(sink.tracing_layer(max));
        tracing::subscriber::with_default(subscriber, f);
        sink.flush();
    }

    #[derive(Debug)]
    #[allow(dead_code)] // Read only through Debug.
    struct Addr {
        port: u16,
    }

    #[test]
    fn coordinator_lines_about_an_app_are_in_that_apps_logs() {
        let (sink, _out) = json_sink();
        capture(&sink, tracing::Level::INFO, || {
            tracing::info!(worker = "web:1", "worker ready");
            tracing::info!(app = "api", "app restarted");
            tracing::info!("spindle ready");
        });
        let msgs = |app| -> Vec<String> {
            let (lines, _) = sink.subscribe(app, 10);
            lines.iter().map(|l| l.json.to_string()).collect()
        };
        assert_eq!(msgs(Some("web")).len(), 1);
        assert!(msgs(Some("web"))[0].contains("worker ready"));
        assert!(msgs(Some("api"))[0].contains("app restarted"));
        assert_eq!(msgs(None).len(), 3);
    }

    #[test]
    fn events_render_typed_fields_and_span_fields() {
        let (sink, out) = json_sink();
        capture(&sink, tracing::Level::INFO, || {
            let worker = tracing::info_span!("worker", worker = "web:1", generation = 3);
            let _entered = worker.enter();
            tracing::warn!(
                target: "spindle_core::supervisor",
                pid = 42,
                exit_code = -1,
                ok = false,
                ratio = 0.5,
                reason = "oom \"killed\"",
                addr = ?Addr { port: 80 },
                "worker {} exited",
                "web:1"
            );
        });
        assert_eq!(
            out.lines(),
            [concat!(
                r#"{"level":40,"time":1700000000123,"hostname":"testhost","target":"spindle_core::supervisor","msg":"worker web:1 exited","#,
                r#""pid":42,"exit_code":-1,"ok":false,"ratio":0.5,"reason":"oom \"killed\"","addr":"Addr { port: 80 }","#,
                r#""worker":"web:1","generation":3}"#
            )]
        );
    }

    #[test]
    fn inner_fields_win_and_recorded_fields_appear() {
        let (sink, out) = json_sink();
        capture(&sink, tracing::Level::INFO, || {
            let outer = tracing::info_span!("app", app = "web", state = "outer");
            let _outer = outer.enter();
            let inner =
                tracing::info_span!("worker", worker = "web:1", pid = tracing::field::Empty);
            inner.record("pid", 7);
            let _inner = inner.enter();
            tracing::info!(target: "t", state = "event", "started");
        });
        assert_eq!(
            out.lines(),
            [
                r#"{"level":30,"time":1700000000123,"hostname":"testhost","target":"t","msg":"started","state":"event","worker":"web:1","pid":7,"app":"web"}"#
            ]
        );
    }

    #[test]
    fn events_below_the_level_are_skipped() {
        let (sink, out) = json_sink();
        capture(&sink, tracing::Level::INFO, || {
            tracing::debug!(target: "t", "hidden");
            tracing::error!(target: "t", "shown");
            tracing::info!(target: "t", count = 2);
        });
        assert_eq!(
            out.lines(),
            [
                r#"{"level":50,"time":1700000000123,"pid":4242,"hostname":"testhost","target":"t","msg":"shown"}"#,
                r#"{"level":30,"time":1700000000123,"pid":4242,"hostname":"testhost","target":"t","msg":"","count":2}"#,
            ]
        );
    }

    #[test]
    fn pretty_events_show_target_message_and_fields() {
        let (sink, out) = sink(Format::Pretty);
        capture(&sink, tracing::Level::TRACE, || {
            let span = tracing::info_span!("worker", worker = "web:1");
            let _entered = span.enter();
            tracing::trace!(target: "spindle_core::ingress", status = 503, "no worker ready");
        });
        assert_eq!(out.lines(), ["22:13:20.123 TRACE spindle_core::ingress │ no worker ready status=503 worker=web:1"]);
    }
}
