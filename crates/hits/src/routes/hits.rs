//! `GET /hits`: count this visit and greet the visitor with the count.
//!
//! Public, like the seed's page: no token is asked for or looked at. Every call is a visit, so
//! the answer is marked `no-store`: a cache replaying it would show a stale count and swallow
//! visits.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderValue, header};
use serde::Serialize;

use crate::domain::Hits;
use crate::error::HitsError;
use crate::state::AppState;

/// The answer to a visit: `{"hits": n, "message": "Hello World! I have been seen n times."}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HitsView {
    pub hits: u64,
    pub message: String,
}

impl From<Hits> for HitsView {
    fn from(hits: Hits) -> Self {
        Self {
            hits: hits.count(),
            message: hits.message(),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/hits", get(visit))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(visit))]
pub(super) struct Api;

/// Counts a visit.
#[utoipa::path(
    get,
    path = "/hits",
    tag = "hits",
    responses(
        (status = 200, description = "The visit, counted", body = HitsView,
            headers(("Cache-Control" = String, description = "`no-store`: every call is a visit"))),
        (status = 503, description = "counter_unavailable: the counter cannot be reached; retry after `Retry-After` seconds",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn visit(State(state): State<AppState>) -> Result<impl IntoResponse, HitsError> {
    let hits = state.counter.increment().await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(HitsView::from(hits)),
    ))
}
