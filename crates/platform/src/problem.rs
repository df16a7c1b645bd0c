//! RFC 9457 problem details: the one error shape every microshop service answers with.
//!
//! Clients branch on the stable `code` (snake_case), never on `title` or `detail`, which are for
//! humans. Services keep their own error enum and convert it into a [`Problem`]; this type only
//! fixes the wire format so every service, the gateway included, looks the same from outside.
//!
//! Every code is listed, with what it means and what a client should do, in [`catalogue`];
//! the `type` of a problem, `/problems/{code}`, is that entry's page ([`pages`]), served by
//! every service.

pub mod catalogue;
pub mod pages;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field, named by its JSON path (`items[0].quantity`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem response under construction.
///
/// Boxed, so `Result<T, Problem>` stays small on the happy path (and `clippy::result_large_err`
/// stays quiet in every handler).
#[derive(Debug, Clone)]
pub struct Problem {
    inner: Box<Parts>,
}

#[derive(Debug, Clone)]
struct Parts {
    status: StatusCode,
    code: String,
    title: String,
    detail: Option<String>,
    errors: Vec<FieldError>,
    extensions: Map<String, Value>,
    retry_after_secs: Option<u64>,
    www_authenticate: Option<String>,
}

impl Problem {
    /// A problem with a status, a stable machine-readable `code` and a short human title.
    ///
    /// `code` must be listed in [`catalogue`] (checked in debug builds), so its `type` resolves.
    pub fn new(status: StatusCode, code: impl Into<String>, title: impl Into<String>) -> Self {
        let code = code.into();
        debug_assert!(
            catalogue::lookup(&code).is_some(),
            "the problem code {code:?} is not in platform::problem::catalogue"
        );
        let inner = Box::new(Parts {
            status,
            code,
            title: title.into(),
            detail: None,
            errors: Vec::new(),
            extensions: Map::new(),
            retry_after_secs: None,
            www_authenticate: None,
        });
        Self { inner }
    }

    /// Explanation specific to this occurrence; must never carry internals.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.detail = Some(detail.into());
        self
    }

    /// Adds an offending field, so a client can show the message next to the right input.
    pub fn field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.inner.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    /// Adds a member to the body (for example the `order_id` a 503 refers to).
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.inner.extensions.insert(key.to_owned(), value);
        self
    }

    /// Sets `Retry-After` (429, 503).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.inner.retry_after_secs = Some(secs);
        self
    }

    /// Sets `WWW-Authenticate` (401).
    pub fn www_authenticate(mut self, challenge: impl Into<String>) -> Self {
        self.inner.www_authenticate = Some(challenge.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    pub fn code(&self) -> &str {
        &self.inner.code
    }

    // Common problems, so their codes are spelled once.

    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request").detail(detail)
    }

    /// 422 naming one field: the input parsed as JSON but a value is not acceptable.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Invalid input",
        )
        .detail(format!("{field}: {message}"))
        .field(field, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found")
            .detail("No resource matches this URL")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
        )
        .detail("This resource does not support this HTTP method")
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict").detail(detail)
    }

    pub fn unauthorized(code: &str, detail: impl Into<String>) -> Self {
        let challenge = if code == "missing_token" {
            "Bearer".to_owned()
        } else {
            format!("Bearer error=\"{code}\"")
        };
        Self::new(StatusCode::UNAUTHORIZED, code, "Unauthorized")
            .detail(detail)
            .www_authenticate(challenge)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").detail(detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
        )
        .detail("Too many requests; retry later")
        .retry_after(retry_after_secs)
    }

    pub fn service_unavailable(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, "Service unavailable")
            .detail(detail)
            .retry_after(5)
    }

    /// An opaque 500. The cause is logged by the caller, never sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        )
        .detail("An unexpected error occurred; it has been logged")
    }

    /// The JSON body, as sent.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "type".into(),
            Value::String(format!("/problems/{}", self.inner.code)),
        );
        body.insert("title".into(), Value::String(self.inner.title.clone()));
        body.insert("status".into(), Value::from(self.inner.status.as_u16()));
        body.insert("code".into(), Value::String(self.inner.code.clone()));
        if let Some(detail) = &self.inner.detail {
            body.insert("detail".into(), Value::String(detail.clone()));
        }
        if !self.inner.errors.is_empty() {
            body.insert(
                "errors".into(),
                serde_json::to_value(&self.inner.errors).unwrap_or(Value::Null),
            );
        }
        for (key, value) in &self.inner.extensions {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(body)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.inner.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.inner.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = self.inner.www_authenticate
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.inner.status.as_u16(), self.inner.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_code_status_and_fields() {
        let problem = Problem::invalid_field("items[0].quantity", "must be at least 1");
        let body = problem.body();
        assert_eq!(body["status"], 422);
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["errors"][0]["field"], "items[0].quantity");
    }

    #[test]
    fn extensions_never_override_standard_members() {
        let body = Problem::not_found().with("status", 200).body();
        assert_eq!(body["status"], 404);
    }

    #[test]
    fn unauthorized_sets_bearer_challenge() {
        let response = Problem::unauthorized("invalid_token", "expired").into_response();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
