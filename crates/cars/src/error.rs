//! Every way a cars request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, CarsError>`; this is the one place that decides status codes and
//! stable `code`s. Storage and unexpected errors become an opaque 500 and are logged here, once,
//! with their cause chain; nothing internal reaches the client.

use axum::response::{IntoResponse, Response};
use platform::Problem;

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum CarsError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No car the caller may see has this id: also the answer for another user's car, so ids
    /// cannot be probed.
    #[error("no such car")]
    NotFound,
    /// An answer already decided elsewhere (an extractor's rejection).
    #[error("{0}")]
    Problem(Box<Problem>),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Problem> for CarsError {
    fn from(problem: Problem) -> Self {
        CarsError::Problem(Box::new(problem))
    }
}

impl CarsError {
    pub fn problem(self) -> Problem {
        match self {
            CarsError::Validation(error) => Problem::invalid_field(error.field, error.message),
            CarsError::NotFound => Problem::not_found().detail("No car with this id"),
            CarsError::Problem(problem) => *problem,
            CarsError::Database(error) => platform::db::database_problem(&error),
            CarsError::Internal(error) => platform::db::internal_problem(&error),
        }
    }
}

impl IntoResponse for CarsError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}
