//! Every way a notifier request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, NotifierError>`; this is the one place that decides status codes
//! and stable `code`s. Storage and unexpected errors become an opaque 500, logged here once with
//! their cause; nothing internal reaches the client.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use axum::response::{IntoResponse, Response};
use platform::Problem;

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No such notification in the caller's inbox (another user's is the same answer).
    #[error("notification not found")]
    NotFound,
    /// An answer already decided elsewhere (an extractor's rejection).
    #[error("{0}")]
    Problem(Box<Problem>),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Problem> for NotifierError {
    fn from(problem: Problem) -> Self {
        NotifierError::Problem(Box::new(problem))
    }
}

impl NotifierError {
    pub fn problem(self) -> Problem {
        match self {
            NotifierError::Validation(error) => Problem::invalid_field(error.field, error.message),
            NotifierError::NotFound => Problem::new(
                http::StatusCode::NOT_FOUND,
                "notification_not_found",
                "Not found",
            )
            .detail("No notification with this id in your inbox"),
            NotifierError::Problem(problem) => *problem,
            // A database that cannot be reached is a state of the service, not a bug: 503
            // with `Retry-After`, so clients and the gateway retry instead of giving up.
            NotifierError::Database(error) if platform::db::is_unavailable(&error) => {
                tracing::warn!(error = %error, "the database is unavailable");
                platform::db::unavailable_problem()
            }
            NotifierError::Database(error) => {
                tracing::error!(error = %error, cause = ?std::error::Error::source(&error), "database error");
                Problem::internal()
            }
            NotifierError::Internal(error) if platform::db::caused_by_unavailable(&error) => {
                tracing::warn!(error = format!("{error:#}"), "the database is unavailable");
                platform::db::unavailable_problem()
            }
            NotifierError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "unexpected error");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for NotifierError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}
