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

use crate::error::AuthError;
use crate::sessions::{self, TokenPair};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// Tokens must not be cached by anything between auth and the client.
fn token_response(pair: TokenPair) -> impl IntoResponse {
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

async fn login(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<impl IntoResponse, AuthError> {
    let pair = sessions::login(&state, &body.username, &body.password, client_ip).await?;
    Ok(token_response(pair))
}

async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<impl IntoResponse, AuthError> {
    let pair = sessions::refresh(&state, &body.refresh_token).await?;
    Ok(token_response(pair))
}

async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, AuthError> {
    sessions::logout(&state, &user, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
