//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! Handlers stay thin: they check who is calling, take the request already parsed into domain
//! types, call storage, and shape the answer. The paths are the public ones (`/cars/...`),
//! identical behind the gateway.

mod cars;

use axum::Router;

use crate::state::AppState;

pub use cars::{CarView, CarsPage};

/// Every cars route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(cars::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    cars::Api::openapi()
}
