//! Accounts: `POST /auth/register` (alias `/auth/signup`) and `GET /auth/me`.

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::{StatusCode, header};
use platform::http::ClientIp;
use platform::{AuthUser, Json, Role};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{NewAccount, Password, PersonalDetails, Username};
use crate::error::AuthError;
use crate::registration;
use crate::state::AppState;
use crate::storage::Account;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/signup", post(register))
        .route("/auth/me", get(me))
}

/// The registration body. The seeds' French field names are accepted too.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    username: String,
    password: String,
    email: Option<String>,
    /// Also `prénom`.
    #[serde(alias = "prénom", alias = "prenom")]
    first_name: Option<String>,
    /// Also `nom`.
    #[serde(alias = "nom")]
    last_name: Option<String>,
    /// Also `adresse`.
    #[serde(alias = "adresse")]
    address: Option<String>,
}

impl TryFrom<RegisterRequest> for NewAccount {
    type Error = AuthError;

    fn try_from(body: RegisterRequest) -> Result<Self, Self::Error> {
        Ok(NewAccount {
            username: Username::parse(body.username)?,
            password: Password::parse(body.password)?,
            profile: PersonalDetails::parse(
                body.email,
                body.first_name,
                body.last_name,
                body.address,
            )?,
        })
    }
}

/// An account as the API shows it: never a hash, never a profile detail.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        Self {
            id: account.id,
            username: account.username,
            role: account.role,
            created_at: account.created_at,
        }
    }
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(register, me))]
pub(super) struct Api;

#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account, created (a customer); log in next", body = AccountView, headers(("Location" = String, description = "The new user's profile URL"))),
        (status = 409, description = "username_taken: the username is already taken"),
        (status = 429, description = "too_many_registrations: this address registered its hour's worth; see `Retry-After`"),
    )
)]
async fn register(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    Json(body): Json<RegisterRequest>,
) -> Result<impl IntoResponse, AuthError> {
    let registration = registration::register(&state, body.try_into()?, client_ip).await?;
    let location = format!("/users/{}", registration.account.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(AccountView::from(registration.account)),
    ))
}

#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = AccountView),
    )
)]
async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<AccountView>, AuthError> {
    let account = state
        .storage
        .find_account(user.id)
        .await?
        .ok_or(AuthError::UnknownAccount)?;
    Ok(Json(account.into()))
}
