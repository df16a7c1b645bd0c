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
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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

async fn visit(State(state): State<AppState>) -> Result<impl IntoResponse, HitsError> {
    let hits = state.counter.increment().await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(HitsView::from(hits)),
    ))
}
