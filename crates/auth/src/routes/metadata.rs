//! `GET /.well-known/oauth-authorization-server`: the authorization server metadata of RFC 8414,
//! so an OAuth client configured with the shop's address finds the token endpoint and the keys.
//!
//! Only what exists is claimed: the token endpoint with its two grant types, public clients
//! (`none`), the JWKS. There is no authorization endpoint, so `response_types_supported` (a
//! required member) is empty; logout is not an RFC 7009 revocation endpoint (it takes the
//! caller's access token and a JSON body), so none is published.
//!
//! The URLs start with `--auth-public-url`, else the issuer when it is an http(s) URL, else
//! the scheme and host the request was sent to (the gateway forwards the client's `Host`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::{HeaderMap, header};
use platform::Json;
use serde::Serialize;

use super::token::{GRANT_TYPES, TOKEN_PATH};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/oauth-authorization-server", get(metadata))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(metadata))]
pub(super) struct Api;

/// Authorization server metadata (RFC 8414 §2).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Metadata {
    /// The `iss` of every access token.
    issuer: String,
    token_endpoint: String,
    jwks_uri: String,
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Empty: there is no authorization endpoint.
    response_types_supported: Vec<&'static str>,
}

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    operation_id = "auth_oauth_metadata",
    tag = "tokens",
    responses(
        (status = 200, description = "OAuth 2.0 authorization server metadata (RFC 8414): the token endpoint, the JWKS, the grant types", body = Metadata),
    )
)]
async fn metadata(State(state): State<AppState>, headers: HeaderMap) -> Json<Metadata> {
    let base = base_url(&state, &headers);
    Json(Metadata {
        issuer: state.settings.issuer.clone(),
        token_endpoint: format!("{base}{TOKEN_PATH}"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        grant_types_supported: GRANT_TYPES.to_vec(),
        token_endpoint_auth_methods_supported: vec!["none"],
        response_types_supported: Vec::new(),
    })
}

/// Where clients reach auth, without a trailing slash.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.clone();
    }
    let issuer = &state.settings.issuer;
    if issuer.starts_with("https://") || issuer.starts_with("http://") {
        return issuer.trim_end_matches('/').to_owned();
    }
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    // A Host that is not a plain authority is not echoed into URLs.
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}
