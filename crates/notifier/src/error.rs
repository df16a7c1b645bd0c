//! Every way a notifier request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, NotifierError>`; this is the one place that decides status codes
//! and stable `code`s. Storage and unexpected errors become an opaque 500, logged here once with
//! their cause; nothing internal reaches the client.

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
            NotifierError::Database(error) => {
                tracing::error!(error = %error, cause = ?std::error::Error::source(&error), "database error");
                Problem::internal()
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
