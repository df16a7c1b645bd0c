//! Sessions: `POST /auth/login`, `POST /auth/refresh`, `POST /auth/logout`.
//!
//! Token answers follow the OAuth 2.0 token response (RFC 6749 §5.1), `no-store` included, so
//! standard clients understand them.

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use http::{HeaderValue, StatusCode, header};
use platform::http::ClientIp;
use platform::{AuthUser, Json};
use serde::{Deserialize, Serialize};

use crate::domain::ClientId;
use crate::error::AuthError;
use crate::sessions::{self, TokenPair};
use crate::state::AppState;

/// The session routes; registers the login-failure counters, so they show on `/metrics` from
/// the start.
pub fn router() -> Router<AppState> {
    sessions::register_login_failure_metrics();
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

/// The RFC 6749 §5.1 success answer, of the JSON routes and of `/auth/token`.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TokenResponse {
    access_token: String,
    refresh_token: String,
    #[schema(value_type = String, example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(login, refresh, logout))]
pub(super) struct Api;

/// Tokens must not be cached by anything between auth and the client.
pub(super) fn token_response(pair: TokenPair) -> impl IntoResponse {
    (
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(TokenResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
        }),
    )
}

#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "An access token and a refresh token (RFC 6749 §5.1)", body = TokenResponse, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "invalid_credentials: the username or password is incorrect"),
        (status = 429, description = "too_many_attempts: too many failed logins for this account from this address; retry after `Retry-After`"),
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<impl IntoResponse, AuthError> {
    let pair = sessions::login(
        &state,
        &body.username,
        &body.password,
        client_ip,
        &ClientId::default_client(),
    )
    .await?;
    Ok(token_response(pair))
}

#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the refresh token sent is spent", body = TokenResponse, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "invalid_refresh_token: unknown, expired, revoked or already used"),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<impl IntoResponse, AuthError> {
    let pair = sessions::refresh(&state, &body.refresh_token, &ClientId::default_client()).await?;
    Ok(token_response(pair))
}

#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "The refresh token is revoked"),
        (status = 401, description = "missing_token or invalid_token (access token); invalid_refresh_token"),
    )
)]
async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, AuthError> {
    sessions::logout(&state, &user, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
