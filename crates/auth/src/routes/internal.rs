//! `GET /internal/disabled-accounts`: the accounts disabled since a cursor, for the token
//! verifiers of the other services (`platform::auth::HttpRevocationSource` polls it).
//!
//! Only callers holding the internal token get an answer; to anyone else the route does not
//! exist (404), and the gateway strips the token from client requests anyway.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use platform::auth::{DisabledAccounts, InternalCaller};
use platform::{Json, Problem};
use serde::Deserialize;

use crate::deletion;
use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/internal/disabled-accounts", get(disabled_accounts))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(disabled_accounts))]
pub(super) struct Api;

#[derive(Debug, Deserialize)]
struct Cursor {
    since: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/internal/disabled-accounts",
    tag = "internal",
    security(("internal_token" = [])),
    params(("since" = Option<i64>, Query, description = "Unix milliseconds: accounts disabled at or after it; without it, every one whose tokens may still be live")),
    responses(
        (status = 200, description = "Disabled accounts, oldest first, one page", body = DisabledAccounts),
        (status = 400, description = "malformed_query: `since` is not an integer"),
        (status = 404, description = "not_found: no internal token"),
    )
)]
async fn disabled_accounts(
    _caller: InternalCaller,
    State(state): State<AppState>,
    query: Result<Query<Cursor>, QueryRejection>,
) -> Result<Json<DisabledAccounts>, AuthError> {
    let Query(cursor) = query
        .map_err(|rejection| Problem::bad_request("malformed_query", rejection.body_text()))?;
    let page = deletion::page(&state.storage, state.settings.access_ttl, cursor.since).await?;
    Ok(Json(page))
}
