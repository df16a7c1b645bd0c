//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! Handlers stay thin: they parse the request into domain types, call the operation, and shape
//! the answer. The paths are the public ones (`/auth/...`), identical behind the gateway;
//! `/internal/...` is for other services only.

mod accounts;
mod internal;
mod jwks;
mod metadata;
mod sessions;
mod token;
mod verify;

use axum::Router;

use crate::state::AppState;

pub use accounts::AccountView;

/// Every auth route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(sessions::router())
        .merge(token::router())
        .merge(metadata::router())
        .merge(verify::router())
        .merge(jwks::router())
        .merge(internal::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = accounts::Api::openapi()
        .merge_from(sessions::Api::openapi())
        .merge_from(token::Api::openapi())
        .merge_from(metadata::Api::openapi())
        .merge_from(verify::Api::openapi())
        .merge_from(jwks::Api::openapi())
        .merge_from(internal::Api::openapi());
    platform::openapi::alias(&mut doc, "/auth/register", "/auth/signup", "signup");
    platform::openapi::alias(&mut doc, "/auth/verify", "/auth/validate", "validate");
    doc
}
