//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! Handlers stay thin: they parse the request, call storage or open a feed, and shape the
//! answer. The paths are the public ones (`/notifications/...`), identical behind the gateway.

mod notifications;

use axum::Router;

use crate::state::AppState;

/// Every notifier route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(notifications::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    notifications::Api::openapi()
}
