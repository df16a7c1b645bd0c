//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! The payment routes are internal (only other services, with the internal token, reach them;
//! everyone else gets 404) and pass through the bank's chaos; the chaos routes are for admins
//! and never do, so an outage can always be lifted.

mod chaos;
mod payments;

use axum::Router;

use crate::state::AppState;

pub use chaos::ChaosView;
pub use payments::PaymentView;

/// Every payments route, before the common layers of [`platform::http::service_app`].
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(payments::router(state))
        .merge(chaos::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    payments::Api::openapi().merge_from(chaos::Api::openapi())
}
