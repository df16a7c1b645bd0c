//! `GET /health/breakers`: the state of each upstream's circuit breaker, next to the common
//! `/health/ready`.
//!
//! Readiness answers only whether this instance can serve (its database, the bus): an open
//! breaker in front of payments does not make orders unready, since orders still takes orders
//! and answers `payment_unavailable` at once. Operators still want to see the breakers without
//! scraping `/metrics` (`circuit_breaker_state`), hence this route.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use platform::Json;
use serde_json::{Map, Value, json};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health/breakers", get(breakers))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(breakers))]
pub(super) struct Api;

#[utoipa::path(
    get,
    path = "/health/breakers",
    tag = "operations",
    responses(
        (status = 200, description = "Each upstream's circuit breaker: `closed`, `open` or `half_open`", body = serde_json::Value,
            example = json!({"service": "orders", "breakers": {"payments": "closed", "products": "closed", "users": "closed"}})),
    )
)]
async fn breakers(State(state): State<AppState>) -> Json<Value> {
    let states: Map<String, Value> = state
        .upstreams
        .breaker_states()
        .into_iter()
        .map(|(upstream, breaker)| (upstream.to_owned(), Value::from(breaker.as_str())))
        .collect();
    Json(json!({"service": "orders", "breakers": states}))
}
