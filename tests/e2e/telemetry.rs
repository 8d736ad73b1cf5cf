//! OpenTelemetry traces from the core (`telemetry`): a public request to `gateway` that
//! calls `api` over the mesh is one trace at an OTLP/HTTP receiver (a small server inside
//! the test, on loopback): the gateway's server span (child of the client's
//! `traceparent`), then a client and a server span for the mesh call, each the parent of
//! the next; and each app received a `traceparent` naming the core's span for it.
//!
//! The gateway's `GET /traced` passes the traceparent it received on to its mesh call, as
//! an app's OpenTelemetry instrumentation does; `api`'s `/whoami` echoes the one it got.

use serde_json::{json, Value};
use spindle_e2e::client::poll;
use spindle_e2e::otlp::{ReceivedSpan, Receiver, CLIENT, SERVER};
use spindle_e2e::{fixture, Running, TestServer, STEP_TIMEOUT};

const CLIENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";

/// The parts of a traceparent value: (trace id, span id, flags).
fn parts(traceparent: &Value) -> (String, String, String) {
    let text = traceparent
        .as_str()
        .unwrap_or_else(|| panic!("no traceparent: {traceparent}"));
    let parts: Vec<&str> = text.split('-').collect();
    assert_eq!(parts.len(), 4, "{text}");
    assert_eq!(parts[0], "00", "{text}");
    (parts[1].into(), parts[2].into(), parts[3].into())
}

async fn traced(server: &Running, headers: &[(&str, &str)]) -> Value {
    let url = format!("{}/traced?to=api&path=/whoami", server.url());
    let res = tokio::time::timeout(
        STEP_TIMEOUT,
        spindle_e2e::client::send_with_headers(&url, headers),
    )
    .await
    .unwrap_or_else(|_| server.fail("GET /traced: no answer in time"));
    assert_eq!(res.status, 200, "{}", res.text());
    let report = res.json();
    assert_eq!(report["status"], 200, "{report}");
    assert_eq!(report["body"]["app"], "api", "{report}");
    report
}

/// Waits until the receiver holds `n` spans of trace `trace`.
async fn spans_of(receiver: &Receiver, trace: &str, n: usize) -> Vec<ReceivedSpan> {
    let got = poll(STEP_TIMEOUT, || async {
        let spans: Vec<ReceivedSpan> = receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace)
            .collect();
        (spans.len() >= n).then_some(spans)
    })
    .await;
    got.unwrap_or_else(|| {
        panic!(
            "fewer than {n} spans of trace {trace} arrived; the receiver has {:#?}",
            receiver.spans()
        )
    })
}

fn one<'a>(
    spans: &'a [ReceivedSpan],
    what: &str,
    pred: impl Fn(&ReceivedSpan) -> bool,
) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans.iter().filter(|s| pred(s)).collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one {what} span expected in {spans:#?}"
    );
    found[0]
}

#[tokio::test]
async fn a_request_through_two_apps_is_one_trace() {
    let receiver = Receiver::start().await;
    let server = TestServer::new()
        .app("gateway", fixture("mesh-gateway"))
        .app("api", fixture("mesh-api"))
        .entrypoint("gateway")
        .config_json(json!({
            "telemetry": {
                "applicationName": "shop",
                "exporter": { "type": "otlp", "options": { "url": receiver.url() } }
            }
        }))
        .start()
        .await;

    // The client's trace is continued.
    let client_parent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let report = traced(
        &server,
        &[
            ("traceparent", &client_parent),
            ("tracestate", "congo=t61rcWkgMzE"),
        ],
    )
    .await;
    let (gw_trace, gw_span, gw_flags) = parts(&report["traceparent"]);
    let (api_trace, api_span, _) = parts(&report["body"]["traceparent"]);
    assert_eq!(gw_trace, CLIENT_TRACE, "{report}");
    assert_eq!(api_trace, CLIENT_TRACE, "{report}");
    assert_eq!(gw_flags, "01", "{report}");
    assert_ne!(
        gw_span, CLIENT_SPAN,
        "the gateway gets the core's span, not the client's"
    );
    assert_ne!(api_span, gw_span, "{report}");
    let spans = spans_of(&receiver, CLIENT_TRACE, 3).await;
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let public = one(&spans, "public server", |s| {
        s.kind == SERVER && s.attributes.get("spindle.app").map(String::as_str) == Some("gateway")
    });
    let mesh_client = one(&spans, "mesh client", |s| s.kind == CLIENT);
    let mesh_server = one(&spans, "mesh server", |s| {
        s.kind == SERVER && s.attributes.get("spindle.app").map(String::as_str) == Some("api")
    });
    // Links: client -> gateway's server span -> (the gateway's call) mesh client -> api's
    // server span, and each app saw its own server span.
    assert_eq!(public.parent_span_id, CLIENT_SPAN, "{public:#?}");
    assert_eq!(public.span_id, gw_span, "{public:#?}");
    assert_eq!(
        mesh_client.parent_span_id, public.span_id,
        "{mesh_client:#?}"
    );
    assert_eq!(
        mesh_server.parent_span_id, mesh_client.span_id,
        "{mesh_server:#?}"
    );
    assert_eq!(mesh_server.span_id, api_span, "{mesh_server:#?}");
    assert_eq!(mesh_client.attributes["spindle.caller"], "gateway");
    assert_eq!(mesh_client.attributes["spindle.app"], "api");
    for span in [public, mesh_client, mesh_server] {
        assert_eq!(span.service, "shop", "{span:#?}");
        assert_eq!(span.attributes["http.request.method"], "GET", "{span:#?}");
        assert_eq!(
            span.attributes["http.response.status_code"], "200",
            "{span:#?}"
        );
    }
    assert_eq!(public.name, "GET /traced");
    assert_eq!(mesh_server.name, "GET /whoami");
    assert!(
        public.attributes["spindle.worker"].starts_with("gateway:"),
        "{public:#?}"
    );
    assert!(
        mesh_server.attributes["spindle.worker"].starts_with("api:"),
        "{mesh_server:#?}"
    );
    assert!(public.events.iter().any(|e| e == "queued"), "{public:#?}");

    // Without a traceparent from the client, the core starts the trace.
    let report = traced(&server, &[]).await;
    let (root_trace, root_span, _) = parts(&report["traceparent"]);
    assert_ne!(root_trace, CLIENT_TRACE);
    let (api_trace, _, _) = parts(&report["body"]["traceparent"]);
    assert_eq!(api_trace, root_trace, "{report}");
    let spans = spans_of(&receiver, &root_trace, 3).await;
    let root = one(&spans, "public server", |s| s.span_id == root_span);
    assert_eq!(root.parent_span_id, "", "{root:#?}");
}

#[tokio::test]
async fn without_telemetry_the_clients_trace_headers_pass_as_they_came() {
    let server = TestServer::new()
        .app("gateway", fixture("mesh-gateway"))
        .app("api", fixture("mesh-api"))
        .entrypoint("gateway")
        .start()
        .await;
    let client_parent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let report = traced(&server, &[("traceparent", &client_parent)]).await;
    assert_eq!(report["traceparent"], client_parent, "{report}");
    assert_eq!(report["body"]["traceparent"], client_parent, "{report}");
}
