//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! Handlers stay thin: they check who is calling, parse the request into domain types, call
//! storage, and shape the answer. Paths are the public ones (`/events…`), identical behind the
//! gateway.

mod events;

use axum::Router;

use crate::state::AppState;

/// Every agenda route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(events::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    events::Api::openapi()
}
