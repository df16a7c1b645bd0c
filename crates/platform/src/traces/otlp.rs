//! The OpenTelemetry half of [`super`], behind the cargo feature `otlp`: the SDK, the OTLP
//! exporter and W3C trace-context propagation. Without the feature, `super::off` stands in: no
//! span is exported and no trace context is read or written, as when export is not configured.
//!
//! The exporter runs on the SDK's own thread; its HTTP requests are handed to the service's
//! tokio runtime through [`RuntimeHttpClient`], so there is one HTTP stack (reqwest) in the
//! binary and export never blocks a request.
//!
//! Each span is exported as the service whose work it is, in its resource's `service.name`: in
//! embedded mode one process runs every service, and a trace whose spans all came from
//! "microshop" would not say which service did what (backends group, colour and build service
//! maps by resource; a span attribute would not do). A span opened by a service (its server
//! span, a consumer span, a call it makes outside any request) names the service in its
//! OpenTelemetry context ([`continue_from_headers`], [`continue_from_traceparent`],
//! [`attribute`]); the spans opened under it inherit that context, so they belong to the same
//! service. When a span starts, [`ServiceOfSpan`] copies the service into a private attribute,
//! and [`ExportByService`] sends each batch's spans under their service's resource (the process's
//! resource with `service.name` replaced, so `OTEL_RESOURCE_ATTRIBUTES` applies to every service)
//! and drops the attribute. Spans of the process's own service (in `serve` mode, all of them),
//! or of none, keep the process's resource, where `OTEL_SERVICE_NAME` still wins.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{Span as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor,
};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{EXPORTING, OtlpProtocol, OtlpSettings, TracesError, is_exporting};

/// The provider, kept to flush the last spans at exit.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The exporting layer (see [`super::exporting_layer`]): spans of the process's service under
/// its resource, spans of other services under resources of their own.
pub(super) fn exporting_layer(
    service_name: &str,
    settings: OtlpSettings,
) -> Result<Option<super::ExportLayer>, TracesError> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::LevelFilter;

    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| TracesError::Exporter("no tokio runtime to send spans with".to_owned()))?;
    let http = crate::client::http_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|error| TracesError::Exporter(error.to_string()))?;
    let connection = Connection {
        settings: settings.clone(),
        http: RuntimeHttpClient { http, runtime },
    };
    let exporter = ExportByService {
        process: connection.exporter()?,
        process_service: service_name.into(),
        connection,
        resource: Resource::builder_empty().build(),
        services: Mutex::new(Vec::new()),
    };
    let mut resource = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(service_name.to_owned());
    }
    let provider = SdkTracerProvider::builder()
        .with_span_processor(ServiceOfSpan(BatchSpanProcessor::builder(exporter).build()))
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("microshop");
    if PROVIDER.set(provider).is_ok() {
        EXPORTING.store(true, Ordering::Release);
    }
    // Spans become OpenTelemetry spans only when they are exported; the extra bookkeeping
    // (timings, events copied into spans) would otherwise be paid for nothing. The log filter
    // does not apply to them: quieter logs must not mean fewer traces.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_level(false)
        .with_filter(LevelFilter::INFO)
        .boxed();
    Ok(Some((layer, settings)))
}

/// Where spans go: what every service's exporter is built from.
#[derive(Debug)]
struct Connection {
    settings: OtlpSettings,
    http: RuntimeHttpClient,
}

impl Connection {
    fn exporter(&self) -> Result<opentelemetry_otlp::SpanExporter, TracesError> {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(self.http.clone())
            .with_endpoint(self.settings.traces_url.clone())
            .with_protocol(match self.settings.protocol {
                OtlpProtocol::Protobuf => Protocol::HttpBinary,
                OtlpProtocol::Json => Protocol::HttpJson,
            })
            .build()
            .map_err(|error| TracesError::Exporter(error.to_string()))
    }
}

/// The service whose work a span is, in the span's OpenTelemetry context: the spans opened
/// under it inherit the context, and so the service.
#[derive(Debug, Clone)]
struct SpanService(Arc<str>);

/// The attribute carrying a span's service from its start, where its context is known, to
/// [`ExportByService`], which makes it the resource and drops it.
const SERVICE_ATTRIBUTE: &str = "microshop.service";

/// The span processor: stamps each span with its context's service, then hands it on.
#[derive(Debug)]
struct ServiceOfSpan<P>(P);

impl<P: SpanProcessor> SpanProcessor for ServiceOfSpan<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        if let Some(SpanService(service)) = cx.get::<SpanService>() {
            span.set_attribute(KeyValue::new(
                SERVICE_ATTRIBUTE,
                Value::String(StringValue::from(service.clone())),
            ));
        }
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// The exporter: an OTLP exporter carries one resource, so each service gets one of its own,
/// made when its first span leaves; spans of the process's service or of none go out under the
/// process's resource.
#[derive(Debug)]
struct ExportByService {
    connection: Connection,
    /// The process's resource (given by the provider), which services' resources derive from.
    resource: Resource,
    process_service: Box<str>,
    process: opentelemetry_otlp::SpanExporter,
    services: Mutex<Vec<(Arc<str>, Arc<opentelemetry_otlp::SpanExporter>)>>,
}

impl ExportByService {
    /// `service`'s exporter, made on its first span.
    fn exporter_of(
        &self,
        service: &str,
    ) -> Result<Arc<opentelemetry_otlp::SpanExporter>, TracesError> {
        let mut services = self
            .services
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, exporter)) = services.iter().find(|(name, _)| **name == *service) {
            return Ok(exporter.clone());
        }
        let mut exporter = self.connection.exporter()?;
        exporter.set_resource(&service_resource(&self.resource, service));
        let exporter = Arc::new(exporter);
        services.push((service.into(), exporter.clone()));
        Ok(exporter)
    }
}

/// `process` with `service.name` set to `service`.
fn service_resource(process: &Resource, service: &str) -> Resource {
    Resource::builder_empty()
        .with_attributes(
            process
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .with_service_name(service.to_owned())
        .build()
}

/// Takes the service attribute off `span`: the service it names, if any.
fn take_service(span: &mut SpanData) -> Option<StringValue> {
    let index = span
        .attributes
        .iter()
        .position(|attribute| attribute.key.as_str() == SERVICE_ATTRIBUTE)?;
    match span.attributes.swap_remove(index).value {
        Value::String(service) => Some(service),
        _ => None,
    }
}

impl SpanExporter for ExportByService {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut own = Vec::new();
        let mut by_service: Vec<(StringValue, Vec<SpanData>)> = Vec::new();
        for mut span in batch {
            match take_service(&mut span) {
                Some(service) if service.as_str() != &*self.process_service => {
                    match by_service.iter_mut().find(|(name, _)| *name == service) {
                        Some((_, spans)) => spans.push(span),
                        None => by_service.push((service, vec![span])),
                    }
                }
                _ => own.push(span),
            }
        }
        let mut outcome = Ok(());
        if !own.is_empty() {
            outcome = self.process.export(own).await;
        }
        for (service, spans) in by_service {
            let exported = match self.exporter_of(service.as_str()) {
                Ok(exporter) => exporter.export(spans).await,
                Err(error) => Err(OTelSdkError::InternalFailure(error.to_string())),
            };
            outcome = outcome.and(exported);
        }
        outcome
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
        self.process.set_resource(resource);
    }
}

/// Sends the spans still buffered (at most a few seconds' worth); call once at exit.
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.force_flush();
    }
}

/// Makes `span` a child of the trace named by `headers` (`traceparent`, `tracestate`), if any,
/// exported, with the spans under it, as `service`'s (see the module docs), and records the
/// trace id in its `trace_id` field.
pub fn continue_from_headers(service: &str, span: &tracing::Span, headers: &HeaderMap) {
    if !is_exporting() {
        return;
    }
    let parent = if headers.contains_key("traceparent") {
        TraceContextPropagator::new().extract(&HeaderExtractor(headers))
    } else {
        // The parent the span has already: the current one's, when it opened.
        Context::current()
    };
    let _ = span.set_parent(parent.with_value(SpanService(service.into())));
    record_trace_id(span);
}

/// Has `span`, a child of the current span, and the spans under it exported as `service`'s:
/// for a span that may open outside any of `service`'s (a call made by a background task).
pub fn attribute(service: &str, span: &tracing::Span) {
    if !is_exporting() {
        return;
    }
    let _ = span.set_parent(Context::current().with_value(SpanService(service.into())));
}

/// Puts the span's trace id in its `trace_id` field (declared `tracing::field::Empty`), so the
/// log lines written in it name the trace an operator can then open.
fn record_trace_id(span: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt;
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// Records a server span's answer (`http.response.status_code`); a server error marks the span
/// as failed. A no-op unless traces are exported.
pub fn record_answer(span: &tracing::Span, status: http::StatusCode) {
    if !is_exporting() {
        return;
    }
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
}

/// Makes `span` a child of the trace a `traceparent` value names (an event's), exported as
/// `service`'s.
pub fn continue_from_traceparent(service: &str, span: &tracing::Span, traceparent: Option<&str>) {
    if !is_exporting() {
        return;
    }
    let mut headers = HeaderMap::new();
    if let Some(value) = traceparent.and_then(|traceparent| traceparent.parse().ok()) {
        headers.insert("traceparent", value);
    }
    continue_from_headers(service, span, &headers);
}

/// Writes the current span's trace context into `headers` (replacing any), so the service
/// called continues this trace.
pub fn inject_current(headers: &mut HeaderMap) {
    if !is_exporting() {
        return;
    }
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

/// The current span's `traceparent`, to store with an event; `None` when not exporting.
pub fn current_traceparent() -> Option<String> {
    let mut headers = HeaderMap::new();
    inject_current(&mut headers);
    headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The exporter's HTTP client: the SDK calls it from its own thread, outside any runtime, so
/// each request runs as a task on the service's runtime and the SDK awaits the task.
#[derive(Debug, Clone)]
struct RuntimeHttpClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for RuntimeHttpClient {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let http = self.http.clone();
        let task = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = http.execute(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            let mut answer = http::Response::builder().status(status).body(body)?;
            *answer.headers_mut() = headers;
            Ok::<_, opentelemetry_http::HttpError>(answer)
        });
        let response = task.await??;
        if !response.status().is_success() {
            return Err(format!("the collector answered {}", response.status()).into());
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_s_resource_is_the_process_s_under_the_service_s_name() {
        let process = Resource::builder_empty()
            .with_service_name("microshop")
            .with_attribute(KeyValue::new("deployment.environment.name", "test"))
            .build();
        let orders = service_resource(&process, "orders");
        let name = opentelemetry::Key::from_static_str("service.name");
        assert_eq!(orders.get(&name), Some(Value::from("orders")));
        assert_eq!(
            orders.get(&opentelemetry::Key::from_static_str(
                "deployment.environment.name"
            )),
            Some(Value::from("test"))
        );
        assert_eq!(orders.len(), process.len());
        assert_eq!(process.get(&name), Some(Value::from("microshop")));
    }
}
