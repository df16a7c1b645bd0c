//! `GET /.well-known/jwks.json`: the public keys every verifier needs, current and recently
//! superseded. Read from storage on each request so it never lags behind a rotation.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use platform::Json;
use platform::auth::JwkSet;

use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(jwks))]
pub(super) struct Api;

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "tokens",
    responses(
        (status = 200, description = "The public keys that verify access tokens, current and recently superseded", body = platform::auth::JwkSet),
    )
)]
async fn jwks(State(state): State<AppState>) -> Result<Json<JwkSet>, AuthError> {
    Ok(Json(state.keys.jwks().await?))
}
