//! `GET /internal/users/{id}`: a profile for another service (orders reads the address).
//!
//! Only callers holding the internal token get an answer; to anyone else the route does not
//! exist (404), and the gateway strips the token from client requests anyway.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use platform::Json;
use platform::auth::InternalCaller;
use uuid::Uuid;

use super::ProfileView;
use crate::error::UsersError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/internal/users/{id}", get(profile))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(profile))]
pub(super) struct Api;

#[utoipa::path(
    get,
    path = "/internal/users/{id}",
    tag = "internal",
    security(("internal_token" = [])),
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 200, description = "The profile", body = ProfileView),
        (status = 404, description = "not_found: no such profile (or no internal token); profile_deleted: it was deleted"),
    )
)]
async fn profile(
    _caller: InternalCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>, UsersError> {
    let id = Uuid::parse_str(&id).map_err(|_| UsersError::NotFound)?;
    let profile = state.storage.find(id).await?.live()?;
    Ok(Json(profile.into()))
}
