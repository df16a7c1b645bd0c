//! Token checks for others: `POST /auth/verify` (alias `/auth/validate`) answers with the
//! claims or the reason for refusal; `GET` on the same paths answers Traefik's ForwardAuth,
//! which only looks at the status and copies the `X-User-*` response headers to the request it
//! lets through.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderName, HeaderValue, header};
use platform::auth::{TokenError, bearer_token};
use platform::{Claims, Json, Verifier};
use serde::Deserialize;

use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/auth/verify",
            post(verify_body_or_header).get(forward_auth),
        )
        .route(
            "/auth/validate",
            post(verify_body_or_header).get(forward_auth),
        )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    token: String,
}

static X_USER_ID: HeaderName = HeaderName::from_static("x-user-id");
static X_USER_NAME: HeaderName = HeaderName::from_static("x-user-name");
static X_USER_ROLE: HeaderName = HeaderName::from_static("x-user-role");

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(verify_body_or_header, forward_auth))]
pub(super) struct Api;

/// `POST`: the token from a JSON body `{token}` when there is a body, else from the
/// `Authorization` header.
#[utoipa::path(
    post,
    path = "/auth/verify",
    tag = "tokens",
    security((), ("bearer" = [])),
    request_body(content = Option<VerifyRequest>, description = "The token to check; without a body, the `Authorization` header's is checked"),
    responses(
        (status = 200, description = "The token is valid: its claims", body = platform::Claims, headers(
                ("X-User-Id" = String, description = "The user id"),
                ("X-User-Name" = String, description = "The username"),
                ("X-User-Role" = String, description = "`customer` or `admin`"),
            )),
        (status = 401, description = "missing_token or invalid_token: why the token is refused"),
    )
)]
async fn verify_body_or_header(
    State(verifier): State<Arc<Verifier>>,
    request: Request,
) -> Result<Response, AuthError> {
    let (parts, body) = request.into_parts();
    let from_header = bearer_token(&parts).map(str::to_owned);
    let empty_body = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .is_some_and(|length| length.as_bytes() == b"0");
    let has_body = !empty_body
        && (parts.headers.contains_key(header::CONTENT_TYPE)
            || parts.headers.contains_key(header::CONTENT_LENGTH)
            || parts.headers.contains_key(header::TRANSFER_ENCODING));
    let token = if has_body {
        let request = Request::from_parts(parts, body);
        let Json(body) = Json::<VerifyRequest>::from_request(request, &()).await?;
        if body.token.trim().is_empty() {
            return Err(TokenError::Missing.into());
        }
        body.token
    } else {
        from_header?
    };
    let claims = verifier.verify(token.trim()).await?;
    Ok(verified(&claims))
}

/// `GET`: ForwardAuth, the token from the `Authorization` header only.
#[utoipa::path(
    get,
    path = "/auth/verify",
    tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "ForwardAuth: the token is valid; copy the `X-User-*` headers to the request", body = platform::Claims, headers(
                ("X-User-Id" = String, description = "The user id"),
                ("X-User-Name" = String, description = "The username"),
                ("X-User-Role" = String, description = "`customer` or `admin`"),
            )),
        (status = 401, description = "missing_token or invalid_token: refuse the request"),
    )
)]
async fn forward_auth(
    State(verifier): State<Arc<Verifier>>,
    request: Request,
) -> Result<Response, AuthError> {
    let (parts, _body) = request.into_parts();
    let token = bearer_token(&parts)?;
    let claims = verifier.verify(token).await?;
    Ok(verified(&claims))
}

/// 200 with the claims as the body and the identity as `X-User-*` headers.
fn verified(claims: &Claims) -> Response {
    let mut response = Json(claims).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (&X_USER_ID, claims.sub.to_string()),
        (&X_USER_NAME, claims.name.clone()),
        (&X_USER_ROLE, claims.role.as_str().to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name.clone(), value);
        }
    }
    response
}
