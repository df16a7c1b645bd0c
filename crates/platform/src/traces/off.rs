//! [`super`] in a binary built without the cargo feature `otlp`: nothing is exported (the
//! variables that ask for export are refused at start), so no trace context is read or written,
//! exactly as in a binary with the feature when export is not configured. A `traceparent` sent
//! by a client passes through the gateway unchanged.

use http::HeaderMap;

use super::{ExportLayer, OtlpSettings, TracesError};

/// Unreachable: [`super::exporting_layer`] refuses export without the feature first.
pub(super) fn exporting_layer(
    _service_name: &str,
    _settings: OtlpSettings,
) -> Result<Option<ExportLayer>, TracesError> {
    Err(TracesError::NotCompiled)
}

pub fn flush() {}

pub fn continue_from_headers(_service: &str, _span: &tracing::Span, _headers: &HeaderMap) {}

pub fn attribute(_service: &str, _span: &tracing::Span) {}

pub fn record_answer(_span: &tracing::Span, _status: http::StatusCode) {}

pub fn continue_from_traceparent(
    _service: &str,
    _span: &tracing::Span,
    _traceparent: Option<&str>,
) {
}

pub fn inject_current(_headers: &mut HeaderMap) {}

pub fn current_traceparent() -> Option<String> {
    None
}
