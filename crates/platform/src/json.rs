//! The JSON body extractor every handler uses instead of `axum::Json`.
//!
//! axum's own extractor answers plain-text errors; a client of an API must get problem details
//! it can act on: 415 for a wrong content type, 413 for a body over [`MAX_BODY_BYTES`], 400 for
//! JSON that does not parse, and 422 naming the field (`items[0].quantity`) when the JSON is
//! well formed but a value has the wrong type or is missing.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// Largest request body any service accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body parsed into `T`, or a JSON response body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json_content_type(request: &Request) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] without buffering them.
pub async fn read_body_limited(request: Request) -> Result<bytes::Bytes, Problem> {
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES);
    match body.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(payload_too_large())
        }
        Err(error) => {
            // axum's own DefaultBodyLimit reports through the same error chain.
            if format!("{error:?}").contains("LengthLimitError") {
                Err(payload_too_large())
            } else {
                Err(Problem::bad_request(
                    "unreadable_body",
                    "The request body could not be read",
                ))
            }
        }
    }
}

pub fn payload_too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Payload too large",
    )
    .detail(format!(
        "Request bodies are limited to {MAX_BODY_BYTES} bytes"
    ))
}

/// Parses JSON bytes into `T`, mapping errors to 400 (syntax) or 422 (a field's value).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    if value.is_ok()
        && let Err(error) = deserializer.end()
    {
        return Err(Problem::bad_request(
            "malformed_json",
            format!("The body is not valid JSON: {error}"),
        ));
    }
    value.map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => Problem::bad_request(
                "malformed_json",
                format!("The body is not valid JSON: {inner}"),
            ),
            Category::Data => {
                let message = strip_position(&inner.to_string());
                let field = if path == "." || path.is_empty() {
                    missing_field_name(&message).unwrap_or_else(|| "body".to_owned())
                } else {
                    path
                };
                Problem::invalid_field(field, message)
            }
        }
    })
}

/// serde's messages end with " at line 1 column 17", noise for an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

fn missing_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(&request) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            )
            .detail("Send the body as JSON with Content-Type: application/json"));
        }
        if let Some(length) = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            && length > MAX_BODY_BYTES as u64
        {
            return Err(payload_too_large());
        }
        let bytes = read_body_limited(request).await?;
        // Every request body of the API is an object; serde would otherwise accept a struct
        // written as an array of its fields in order.
        let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        if first.is_some_and(|byte| *byte != b'{')
            && serde_json::from_slice::<serde_json::Value>(&bytes).is_ok()
        {
            return Err(Problem::invalid_field("body", "must be a JSON object"));
        }
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Line {
        product_id: i64,
        quantity: i64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Line>,
    }

    #[test]
    fn syntax_errors_are_400() {
        let problem = parse_json::<Order>(b"{\"items\": [").unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.code(), "malformed_json");
    }

    #[test]
    fn type_errors_name_the_field() {
        let problem =
            parse_json::<Order>(br#"{"items":[{"product_id":1,"quantity":"2"}]}"#).unwrap_err();
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.body()["errors"][0]["field"], "items[0].quantity");
    }

    #[test]
    fn missing_fields_are_named() {
        let problem = parse_json::<Order>(b"{}").unwrap_err();
        assert_eq!(problem.body()["errors"][0]["field"], "items");
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let problem = parse_json::<Order>(br#"{"items":[]} x"#).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
    }
}
