//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! The paths are the public ones (`/hits`), identical behind the gateway.

mod hits;

use axum::Router;

use crate::state::AppState;

pub use hits::HitsView;

/// Every hits route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(hits::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    hits::Api::openapi()
}
