//! The HTTP surface: one module per resource, each exporting its `router()`.
//!
//! Handlers stay thin: they check who is calling, parse the request into domain types, call
//! storage, and shape the answer. Paths are the public ones (`/products…`), identical behind the
//! gateway; `/internal/…` answers only calls carrying the internal token.

mod products;
mod reservations;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use platform::{AuthUser, Problem, Verifier};

use crate::state::AppState;

pub use products::{CategoryList, CategoryView, ProductList, ProductView};
pub use reservations::{ReservationLineView, ReservationView, StatusView};

/// Every products route, before the common layers of [`platform::http::service_app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(products::router())
        .merge(reservations::router())
        .merge(crate::openapi::router())
}

/// Every operation of [`router`], for [`crate::openapi`]; the completeness test holds the two
/// together.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    products::Api::openapi().merge_from(reservations::Api::openapi())
}

/// An admin caller. As an extractor it runs before the body is read, so a customer gets 403
/// (and an anonymous caller 401) whatever the body holds.
#[derive(Debug, Clone)]
pub struct Admin(pub AuthUser);

impl<S> FromRequestParts<S> for Admin
where
    Arc<Verifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        user.require_admin()?;
        Ok(Admin(user))
    }
}
