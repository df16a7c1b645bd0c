//! Every way a users request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, UsersError>`; this is the one place that decides status codes and
//! stable `code`s. Storage and unexpected errors become an opaque 500 and are logged here, once,
//! with their cause chain; nothing internal reaches the client.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use platform::Problem;

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No profile the caller may see has this id (also the answer for other users' profiles,
    /// so ids cannot be probed).
    #[error("no such profile")]
    NotFound,
    /// The caller's own profile (or, for an admin, any profile) was deleted; deletion is final.
    #[error("the profile was deleted")]
    Deleted,
    /// `POST /users` for an id that already has a profile.
    #[error("a profile with this id exists")]
    AlreadyExists,
    /// `POST /users` for the id of a deleted profile: it is never recreated.
    #[error("the profile with this id was deleted")]
    IdRetired,
    /// A customer tried to change their username (auth owns it; only an admin may fix a copy).
    #[error("only an admin can change a username")]
    UsernameNotEditable,
    /// An answer already decided elsewhere (an extractor's rejection, `require_admin`).
    #[error("{0}")]
    Problem(Box<Problem>),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Problem> for UsersError {
    fn from(problem: Problem) -> Self {
        UsersError::Problem(Box::new(problem))
    }
}

impl UsersError {
    pub fn problem(self) -> Problem {
        match self {
            UsersError::Validation(error) => Problem::invalid_field(error.field, error.message),
            UsersError::NotFound => Problem::not_found(),
            UsersError::Deleted => {
                Problem::new(StatusCode::NOT_FOUND, "profile_deleted", "Not found")
                    .detail("This profile was deleted; deletion is final")
            }
            UsersError::AlreadyExists => {
                Problem::conflict("profile_exists", "A profile with this id already exists")
            }
            UsersError::IdRetired => Problem::conflict(
                "profile_deleted",
                "The profile with this id was deleted and cannot be recreated",
            ),
            UsersError::UsernameNotEditable => {
                Problem::new(StatusCode::FORBIDDEN, "username_not_editable", "Forbidden")
                    .detail("Only an admin can change a username")
                    .field("username", "only an admin can change the username")
            }
            UsersError::Problem(problem) => *problem,
            UsersError::Database(error) => platform::db::database_problem(&error),
            UsersError::Internal(error) => platform::db::internal_problem(&error),
        }
    }
}

impl IntoResponse for UsersError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}
