//! Distributed traces: one trace per request across every service it touches, exported over
//! OTLP when an operator asks for it.
//!
//! The request's `tracing` spans are the trace's spans (the OpenTelemetry layer installed by
//! [`crate::telemetry::init`] turns them into OpenTelemetry spans), so there is one
//! instrumentation, not two. The trace crosses processes in the W3C `traceparent` header: each
//! service continues the trace of an incoming request ([`continue_from_headers`]), puts it on
//! the calls it makes ([`inject_current`], used by [`crate::client::ServiceClient`] and the
//! gateway's proxy), and on the events it emits ([`current_traceparent`], stored in the outbox
//! with the event, carried as a Kafka header); a consumer continues the trace of the event it
//! handles. So gateway → orders → products/payments → Kafka → notifier is one trace id.
//!
//! Export is off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! names a collector: then spans are batched and sent over OTLP/HTTP, protobuf by default or
//! JSON with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` (the standard variables; `grpc` is refused
//! at start rather than silently not exported). Off, no OpenTelemetry layer is installed, no
//! trace context is built and nothing is injected: tracing costs nothing when nobody collects
//! traces. A `traceparent` sent by a client then passes through the gateway unchanged.
//!
//! Export needs the cargo feature `otlp` (the OpenTelemetry SDK and the OTLP exporter, on in the
//! Docker image, `scripts/distributed.sh` and the test command): a binary without it refuses the
//! variables at start (exit 64) rather than ignoring them, and its functions here do nothing.
//! [`otlp`] holds the OpenTelemetry code.
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

use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "otlp")]
use otlp as implementation;

#[cfg(not(feature = "otlp"))]
mod off;
#[cfg(not(feature = "otlp"))]
use off as implementation;

pub use implementation::{
    attribute, continue_from_headers, continue_from_traceparent, current_traceparent, flush,
    inject_current, record_answer,
};

/// Whether spans are exported: set once, when the exporter is installed.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Where and how spans are sent, from the standard OpenTelemetry variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// The full URL spans are posted to (`…/v1/traces`).
    pub traces_url: String,
    pub protocol: OtlpProtocol,
}

/// The OTLP/HTTP encodings this build speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    Protobuf,
    Json,
}

/// A tracing setting that cannot work; the process refuses to start with it.
#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    #[error(
        "OTEL_EXPORTER_OTLP_PROTOCOL={0:?} is not supported: use http/protobuf (the default) or http/json, on the collector's OTLP/HTTP port (4318)"
    )]
    Protocol(String),
    #[error("OTLP endpoint {url:?} is not a URL: {reason}")]
    Endpoint { url: String, reason: String },
    #[error("cannot start the OTLP exporter: {0}")]
    Exporter(String),
    #[error(
        "OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set, but this binary was built without trace export: build it with `cargo build --release --features otlp` (the Docker image and scripts/distributed.sh do)"
    )]
    NotCompiled,
}

impl OtlpSettings {
    /// Reads `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (`/v1/traces` appended) and `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`. `None` when no
    /// endpoint is set; an empty value counts as unset, as the specification says.
    pub fn from_env() -> Result<Option<Self>, TracesError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, TracesError> {
        let set = |name: &str| get(name).filter(|value| !value.trim().is_empty());
        let traces_url = match (
            set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            set("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(url), _) => url.trim().to_owned(),
            (None, Some(base)) => format!("{}/v1/traces", base.trim().trim_end_matches('/')),
            (None, None) => return Ok(None),
        };
        let parsed = reqwest::Url::parse(&traces_url).map_err(|error| TracesError::Endpoint {
            url: traces_url.clone(),
            reason: error.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TracesError::Endpoint {
                url: traces_url,
                reason: "the scheme must be http or https".to_owned(),
            });
        }
        let protocol = match set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .as_deref()
            .map(str::trim)
        {
            None | Some("http/protobuf") => OtlpProtocol::Protobuf,
            Some("http/json") => OtlpProtocol::Json,
            Some(other) => return Err(TracesError::Protocol(other.to_owned())),
        };
        Ok(Some(Self {
            traces_url,
            protocol,
        }))
    }
}

/// The tracing layer that exports spans, when the environment asks for export (see the module
/// docs), with the settings it exports with; `service_name` names the process's spans unless
/// `OTEL_SERVICE_NAME` says otherwise. Must run inside the tokio runtime that will carry the
/// export requests.
pub(crate) fn exporting_layer(service_name: &str) -> Result<Option<ExportLayer>, TracesError> {
    let Some(settings) = OtlpSettings::from_env()? else {
        return Ok(None);
    };
    needs_otlp(cfg!(feature = "otlp"))?;
    implementation::exporting_layer(service_name, settings)
}

/// What [`exporting_layer`] installs: the OpenTelemetry layer over the subscriber's registry, and
/// where it exports.
pub(crate) type ExportLayer = (
    Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>,
    OtlpSettings,
);

/// Export asked of a binary built without it is an error, not silence.
fn needs_otlp(compiled: bool) -> Result<(), TracesError> {
    if compiled {
        Ok(())
    } else {
        Err(TracesError::NotCompiled)
    }
}

/// Whether spans are exported; when not, trace context is neither read nor written.
#[inline]
pub fn is_exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Option<OtlpSettings>, TracesError> {
        OtlpSettings::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn export_from_a_binary_without_otlp_is_refused_with_the_feature_to_build_with() {
        let error = needs_otlp(false).unwrap_err().to_string();
        assert!(error.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{error}");
        assert!(error.contains("--features otlp"), "{error}");
        assert!(needs_otlp(true).is_ok());
    }

    #[test]
    fn no_endpoint_or_an_empty_one_means_no_export() {
        assert_eq!(settings(&[]).unwrap(), None);
        assert_eq!(
            settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]).unwrap(),
            None
        );
    }

    #[test]
    fn the_base_endpoint_gets_the_traces_path_and_the_signal_endpoint_is_kept() {
        let base = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")])
            .unwrap()
            .unwrap();
        assert_eq!(base.traces_url, "http://collector:4318/v1/traces");
        assert_eq!(base.protocol, OtlpProtocol::Protobuf);
        let signal = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://x.example/otlp",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(signal.traces_url, "https://x.example/otlp");
        assert_eq!(signal.protocol, OtlpProtocol::Json);
    }

    #[test]
    fn unsupported_protocols_and_bad_urls_are_refused_with_the_reason() {
        let grpc = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap_err();
        assert!(grpc.to_string().contains("http/protobuf"), "{grpc}");
        let bad = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")]).unwrap_err();
        assert!(bad.to_string().contains("collector:4318"), "{bad}");
    }
}
