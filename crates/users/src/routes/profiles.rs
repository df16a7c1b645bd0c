//! Profiles: `GET/POST /users` (admin), `GET/PATCH/PUT/DELETE /users/{id}` (self or admin), and
//! the caller's own profile at `/users/me` (alias `/users/profile`, the seed's name).
//!
//! A customer reaching for another user's id gets 404, exactly as for an id that does not exist,
//! so ids cannot be probed. The caller's own profile is created from their token on first use
//! if auth's `user.registered` event has not arrived yet, so a registered user always has one;
//! a deleted profile is never recreated.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use http::{StatusCode, header};
use platform::{AuthUser, Json, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Page, ProfileChanges, ProfileDetails, Username};
use crate::error::UsersError;
use crate::state::AppState;
use crate::storage::{Lookup, Profile};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route(
            "/users/me",
            get(read_own)
                .patch(patch_own)
                .put(replace_own)
                .delete(delete_own),
        )
        .route(
            "/users/profile",
            get(read_own)
                .patch(patch_own)
                .put(replace_own)
                .delete(delete_own),
        )
        .route(
            "/users/{id}",
            get(read).patch(patch).put(replace).delete(delete),
        )
}

/// A profile as the API shows it; absent details are `null`, so the shape never changes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProfileView {
    pub id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Profile> for ProfileView {
    fn from(profile: Profile) -> Self {
        Self {
            id: profile.id,
            username: profile.username,
            email: profile.email,
            first_name: profile.first_name,
            last_name: profile.last_name,
            address: profile.address,
            phone: profile.phone,
            created_at: profile.created_at,
            updated_at: profile.updated_at,
        }
    }
}

/// One page of `GET /users`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProfilesPage {
    pub items: Vec<ProfileView>,
    /// Live profiles in all, for the client's page count.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// `POST /users`. `id` is the account the profile is for; without it a new UUIDv7 is minted
/// (a profile with no login, like the seed's plain users table).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    id: Option<Uuid>,
    username: String,
    email: Option<String>,
    #[serde(alias = "prénom", alias = "prenom")]
    first_name: Option<String>,
    #[serde(alias = "nom")]
    last_name: Option<String>,
    #[serde(alias = "adresse")]
    address: Option<String>,
    #[serde(alias = "téléphone", alias = "telephone")]
    phone: Option<String>,
}

/// `PUT`: the editable details in full (absent ones are emptied). `username` may be sent: a
/// customer's must be their current one, an admin's replaces it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReplaceRequest {
    username: Option<String>,
    email: Option<String>,
    #[serde(alias = "prénom", alias = "prenom")]
    first_name: Option<String>,
    #[serde(alias = "nom")]
    last_name: Option<String>,
    #[serde(alias = "adresse")]
    address: Option<String>,
    #[serde(alias = "téléphone", alias = "telephone")]
    phone: Option<String>,
}

/// `PATCH`: only the fields sent change; `null` (or blank) empties a detail.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchRequest {
    username: Option<String>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        alias = "prénom",
        alias = "prenom"
    )]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present", alias = "nom")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present", alias = "adresse")]
    address: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        alias = "téléphone",
        alias = "telephone"
    )]
    phone: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`, via `default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl TryFrom<PatchRequest> for ProfileChanges {
    type Error = UsersError;

    fn try_from(body: PatchRequest) -> Result<Self, Self::Error> {
        Ok(ProfileChanges::patch(
            body.username,
            body.email,
            body.first_name,
            body.last_name,
            body.address,
            body.phone,
        )?)
    }
}

impl TryFrom<ReplaceRequest> for ProfileChanges {
    type Error = UsersError;

    fn try_from(body: ReplaceRequest) -> Result<Self, Self::Error> {
        let username = body.username.map(Username::parse).transpose()?;
        let details = ProfileDetails::parse(
            body.email,
            body.first_name,
            body.last_name,
            body.address,
            body.phone,
        )?;
        Ok(ProfileChanges::replace(username, details))
    }
}

/// The raw paging parameters; [`Page::parse`] checks them so errors name the parameter.
#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<String>,
    offset: Option<String>,
}

#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "Page size"),
        ("offset" = Option<i64>, Query, description = "Profiles to skip"),
    ),
    responses(
        (status = 200, description = "Every live profile, one page", body = ProfilesPage),
        (status = 400, description = "malformed_query: the query string cannot be read"),
        (status = 403, description = "forbidden: the caller is not an admin"),
        (status = 422, description = "validation_failed: a paging value is invalid"),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<ProfilesPage>, UsersError> {
    user.require_admin()?;
    let Query(query) = query
        .map_err(|rejection| Problem::bad_request("malformed_query", rejection.body_text()))?;
    let page = Page::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let (profiles, total) = state.storage.list(page).await?;
    Ok(Json(ProfilesPage {
        items: profiles.into_iter().map(ProfileView::from).collect(),
        total,
        limit: page.limit(),
        offset: page.offset(),
    }))
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    security(("bearer" = [])),
    request_body(content = CreateRequest, description = "`username` is required; without `id` a new one is minted"),
    responses(
        (status = 201, description = "The profile, created", body = ProfileView, headers(("Location" = String, description = "The new profile's URL"))),
        (status = 403, description = "forbidden: the caller is not an admin"),
        (status = 409, description = "profile_exists: a profile has this id; or profile_deleted: it was deleted"),
    )
)]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateRequest>,
) -> Result<impl IntoResponse, UsersError> {
    user.require_admin()?;
    let username = Username::parse(body.username)?;
    let details = ProfileDetails::parse(
        body.email,
        body.first_name,
        body.last_name,
        body.address,
        body.phone,
    )?;
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let profile = state.storage.create(id, &username, &details).await?;
    tracing::info!(user_id = %id, by = %user.id, "profile created by an admin");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/users/{id}"))],
        Json(ProfileView::from(profile)),
    ))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    read,
    patch,
    replace,
    delete,
    read_own,
    patch_own,
    replace_own,
    delete_own
))]
pub(super) struct Api;

/// The id in the path, if the caller may act on it: their own, or any for an admin. Anything
/// else (another user's id, a string that is no id) is the same 404.
fn target(user: &AuthUser, raw: &str) -> Result<Uuid, UsersError> {
    let id = Uuid::parse_str(raw).map_err(|_| UsersError::NotFound)?;
    if user.can_access(id) {
        Ok(id)
    } else {
        Err(UsersError::NotFound)
    }
}

/// The profile behind `id`; for the caller's own id, created from the token if missing.
async fn current(state: &AppState, user: &AuthUser, id: Uuid) -> Result<Profile, UsersError> {
    if id == user.id {
        let username = Username::parse(user.username.as_str()).map_err(|error| {
            anyhow::anyhow!("the token's name cannot be a profile's username: {error}")
        })?;
        state.storage.ensure(id, &username).await?.live()
    } else {
        state.storage.find(id).await?.live()
    }
}

async fn read_profile(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
) -> Result<Json<ProfileView>, UsersError> {
    Ok(Json(current(state, user, id).await?.into()))
}

/// Applies `changes` after checking that a customer leaves their username as it is.
async fn change_profile(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    mut changes: ProfileChanges,
) -> Result<Json<ProfileView>, UsersError> {
    let before = current(state, user, id).await?;
    if let Some(username) = &changes.username
        && username.as_str() != before.username
    {
        if !user.is_admin() {
            return Err(UsersError::UsernameNotEditable);
        }
    } else {
        changes.username = None;
    }
    let profile = state.storage.update(id, &changes).await?.live()?;
    Ok(Json(profile.into()))
}

async fn delete_profile(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
) -> Result<StatusCode, UsersError> {
    // Deleting one's own profile must hold even if the registration event is still on its way.
    let own = id == user.id;
    if state.storage.delete(id, own, user.id).await? {
        // `user.deleted` is in the outbox: publish it now, so auth disables the account at once.
        state.relay.wake();
        tracing::info!(user_id = %id, by = %user.id, "profile deleted");
        return Ok(StatusCode::NO_CONTENT);
    }
    match state.storage.find(id).await? {
        // A second delete, or one that lost a race with another.
        Lookup::Deleted => Err(UsersError::Deleted),
        Lookup::Missing | Lookup::Live(_) => Err(UsersError::NotFound),
    }
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 200, description = "The profile", body = ProfileView),
        (status = 404, description = "not_found: no such profile, or another user's for a customer; profile_deleted: it was deleted"),
    )
)]
async fn read(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>, UsersError> {
    let id = target(&user, &id)?;
    read_profile(&state, &user, id).await
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    request_body(content = PatchRequest, description = "Only the fields sent change; `null` empties a detail"),
    responses(
        (status = 200, description = "The profile, changed", body = ProfileView),
        (status = 403, description = "username_not_editable: a customer may not change their username"),
        (status = 404, description = "not_found: no such profile, or another user's for a customer; profile_deleted: it was deleted"),
    )
)]
async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<PatchRequest>,
) -> Result<Json<ProfileView>, UsersError> {
    let id = target(&user, &id)?;
    change_profile(&state, &user, id, body.try_into()?).await
}

#[utoipa::path(
    put,
    path = "/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    request_body(content = ReplaceRequest, description = "Every editable detail; absent ones are emptied"),
    responses(
        (status = 200, description = "The profile, replaced", body = ProfileView),
        (status = 403, description = "username_not_editable: a customer may not change their username"),
        (status = 404, description = "not_found: no such profile, or another user's for a customer; profile_deleted: it was deleted"),
    )
)]
async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<ReplaceRequest>,
) -> Result<Json<ProfileView>, UsersError> {
    let id = target(&user, &id)?;
    change_profile(&state, &user, id, body.try_into()?).await
}

#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 204, description = "The profile is deleted"),
        (status = 404, description = "not_found: no such profile, or another user's for a customer; profile_deleted: it was deleted"),
    )
)]
async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, UsersError> {
    let id = target(&user, &id)?;
    delete_profile(&state, &user, id).await
}

#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile (created from the token on first use)", body = ProfileView),
        (status = 404, description = "profile_deleted: the caller's profile was deleted"),
    )
)]
async fn read_own(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<ProfileView>, UsersError> {
    read_profile(&state, &user, user.id).await
}

#[utoipa::path(
    patch,
    path = "/users/me",
    tag = "users",
    security(("bearer" = [])),
    request_body(content = PatchRequest, description = "Only the fields sent change; `null` empties a detail"),
    responses(
        (status = 200, description = "The caller's profile, changed", body = ProfileView),
        (status = 403, description = "username_not_editable: a customer may not change their username"),
        (status = 404, description = "profile_deleted: the caller's profile was deleted"),
    )
)]
async fn patch_own(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<PatchRequest>,
) -> Result<Json<ProfileView>, UsersError> {
    change_profile(&state, &user, user.id, body.try_into()?).await
}

#[utoipa::path(
    put,
    path = "/users/me",
    tag = "users",
    security(("bearer" = [])),
    request_body(content = ReplaceRequest, description = "Every editable detail; absent ones are emptied"),
    responses(
        (status = 200, description = "The caller's profile, replaced", body = ProfileView),
        (status = 403, description = "username_not_editable: a customer may not change their username"),
        (status = 404, description = "profile_deleted: the caller's profile was deleted"),
    )
)]
async fn replace_own(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<ReplaceRequest>,
) -> Result<Json<ProfileView>, UsersError> {
    change_profile(&state, &user, user.id, body.try_into()?).await
}

#[utoipa::path(
    delete,
    path = "/users/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The caller's profile is deleted"),
        (status = 404, description = "profile_deleted: the caller's profile was deleted"),
    )
)]
async fn delete_own(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, UsersError> {
    delete_profile(&state, &user, user.id).await
}
