//! A small OTLP/HTTP collector for the trace tests of both test binaries (`e2e` runs the
//! embedded stack, `distributed` one process per service): it keeps every span it is sent,
//! with the `service.name` of the resource it came under.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use reqwest::StatusCode;

/// One exported span, as the test needs it.
#[derive(Debug, Clone)]
pub struct CollectedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    pub kind: SpanKind,
    /// The resource's `service.name`: which service it is the work of.
    pub service: String,
    pub attributes: HashMap<String, String>,
}

/// An OTLP/HTTP receiver (protobuf, `POST /v1/traces`) keeping every span it is sent.
pub struct Collector {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<CollectedSpan>>>,
}

impl Collector {
    pub async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the collector");
        let addr = listener.local_addr().expect("the collector's address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, spans }
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn trace(&self, trace_id: &str) -> Vec<CollectedSpan> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

async fn receive(
    State(spans): State<Arc<Mutex<Vec<CollectedSpan>>>>,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "text/plain")],
            b"not an OTLP protobuf export".to_vec(),
        );
    };
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|resource| attributes(&resource.attributes))
            .unwrap_or_default();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push(CollectedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    name: span.name,
                    service: service.clone(),
                    attributes: attributes(&span.attributes),
                });
            }
        }
    }
    spans.lock().unwrap().extend(received);
    (
        StatusCode::OK,
        [("content-type", "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn attributes(pairs: &[KeyValue]) -> HashMap<String, String> {
    pairs
        .iter()
        .filter_map(|pair| {
            let value = match pair.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(text) => text.clone(),
                AnyValue::IntValue(number) => number.to_string(),
                AnyValue::BoolValue(flag) => flag.to_string(),
                AnyValue::DoubleValue(number) => number.to_string(),
                _ => return None,
            };
            Some((pair.key.clone(), value))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every span hangs, parent by parent, from the client's span: one tree, not several traces
/// that happen to share an id.
fn assert_connected(trace: &[CollectedSpan], client_span: &str) {
    let ids: HashSet<&str> = trace.iter().map(|span| span.span_id.as_str()).collect();
    let orphans: Vec<_> = trace
        .iter()
        .filter(|span| {
            span.parent_span_id != client_span && !ids.contains(span.parent_span_id.as_str())
        })
        .map(|span| format!("{} {:?} in {}", span.name, span.kind, span.service))
        .collect();
    assert!(
        orphans.is_empty(),
        "spans with an unknown parent: {orphans:?}"
    );
}

fn summary(trace: &[CollectedSpan]) -> Vec<String> {
    trace
        .iter()
        .map(|span| format!("{}: {} ({:?})", span.service, span.name, span.kind))
        .collect()
}

/// What the trace of one order must hold; `None` when it does, or what is missing.
fn missing_from(trace: &[CollectedSpan], client_span: &str, order_id: &str) -> Option<String> {
    let has = |service: &str, kind: SpanKind, what: &dyn Fn(&CollectedSpan) -> bool| {
        trace
            .iter()
            .any(|span| span.service == service && span.kind == kind && what(span))
    };
    let route_is = |route: &'static str| {
        move |span: &CollectedSpan| {
            span.attributes.get("http.route").map(String::as_str) == Some(route)
        }
    };
    let consumed = |event_type: &'static str| {
        move |span: &CollectedSpan| {
            let attribute = |key: &str| span.attributes.get(key).map(String::as_str);
            attribute("cloudevents.event_type") == Some(event_type)
                && attribute("cloudevents.event_subject") == Some(order_id)
        }
    };
    let expectations: [(&str, bool); 7] = [
        (
            "the gateway's span of POST /orders, child of the client's",
            trace.iter().any(|span| {
                span.service == "gateway"
                    && span.kind == SpanKind::Server
                    && span.parent_span_id == client_span
                    && span
                        .attributes
                        .get("http.response.status_code")
                        .map(String::as_str)
                        == Some("201")
            }),
        ),
        (
            "orders' server span of POST /orders",
            has("orders", SpanKind::Server, &route_is("/orders")),
        ),
        (
            "orders' client span of a call to products",
            has("orders", SpanKind::Client, &|span| {
                span.attributes.get("peer.service").map(String::as_str) == Some("products")
            }),
        ),
        (
            "a products server span",
            has("products", SpanKind::Server, &|_| true),
        ),
        (
            "a payments server span",
            has("payments", SpanKind::Server, &|_| true),
        ),
        (
            "the notifier's consumer span of order.created for this order",
            has("notifier", SpanKind::Consumer, &consumed("order.created")),
        ),
        (
            "the notifier's consumer span of order.paid for this order",
            has("notifier", SpanKind::Consumer, &consumed("order.paid")),
        ),
    ];
    let missing: Vec<&str> = expectations
        .iter()
        .filter(|(_, present)| !present)
        .map(|(what, _)| *what)
        .collect();
    (!missing.is_empty()).then(|| missing.join("; "))
}

/// Waits (at most 20 s) until `collector` holds the whole trace of the order `order_id`, placed
/// with a `traceparent` naming `trace_id` and the client's span `client_span`, and checks it: every
/// service the order went through, under its own `service.name`, in one connected tree, each
/// server and consumer span naming the trace in its `trace_id` field, and nothing the client did
/// not trace (its sign-in) in it. The trace, for more checks.
pub async fn assert_order_trace(
    collector: &Collector,
    trace_id: &str,
    client_span: &str,
    order_id: &str,
) -> Vec<CollectedSpan> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let trace = collector.trace(trace_id);
        match missing_from(&trace, client_span, order_id) {
            None => {
                assert_connected(&trace, client_span);
                break;
            }
            Some(missing) if Instant::now() >= deadline => panic!(
                "trace {trace_id} lacks: {missing}; it has {:?}; spans in all: {}",
                summary(&trace),
                collector.spans.lock().unwrap().len()
            ),
            Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    // The server and consumer spans name their trace in a field, so their log lines do too.
    let trace = collector.trace(trace_id);
    for span in trace
        .iter()
        .filter(|span| matches!(span.kind, SpanKind::Server | SpanKind::Consumer))
    {
        assert_eq!(
            span.attributes.get("trace_id").map(String::as_str),
            Some(trace_id),
            "{}: {} ({:?})",
            span.service,
            span.name,
            span.kind
        );
    }
    // Requests the client did not trace start traces of their own: the sign-in is not in it.
    let trace = collector.trace(trace_id);
    assert!(
        trace.iter().all(
            |span| span.attributes.get("http.route").map(String::as_str) != Some("/auth/login")
        ),
        "{:?}",
        summary(&trace)
    );
    trace
}
