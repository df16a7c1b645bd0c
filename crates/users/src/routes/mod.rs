//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! Handlers stay thin: they check who is calling, parse the request into domain types, call
//! storage, and shape the answer. The paths are the public ones (`/users/...`), identical behind
//! the gateway; `/internal/...` is for other services only.

mod internal;
mod profiles;

use axum::Router;

use crate::state::AppState;

pub use profiles::{ProfileView, ProfilesPage};

/// Every users route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(profiles::router())
        .merge(internal::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = profiles::Api::openapi().merge_from(internal::Api::openapi());
    platform::openapi::alias(&mut doc, "/users/me", "/users/profile", "profile");
    doc
}
