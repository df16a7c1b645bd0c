//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! Handlers stay thin: they parse the request into domain types, call the saga, and shape the
//! answer. The paths are the public ones (`/orders/...`), identical behind the gateway.

mod health;
mod orders;

use axum::Router;

use crate::state::AppState;

/// Every orders route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(orders::router())
        .merge(health::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    orders::Api::openapi().merge_from(health::Api::openapi())
}
