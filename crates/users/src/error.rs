//! Every way a users request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, UsersError>`; this is the one place that decides status codes and
//! stable `code`s. Storage and unexpected errors become an opaque 500 and are logged here, once,
//! with their cause chain; nothing internal reaches the client.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use http::StatusCode;
use platform::Problem;
use platform::error::CommonError;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
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
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

impl UsersError {
    pub fn problem(self) -> Problem {
        match self {
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
            UsersError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(UsersError);
