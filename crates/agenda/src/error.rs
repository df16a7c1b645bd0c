//! Every way an agenda request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, AgendaError>`; this is the one place that decides status codes
//! and stable `code`s. Storage and unexpected errors become an opaque 500, logged here once with
//! their cause; nothing internal reaches the client.

use axum::response::{IntoResponse, Response};
use platform::Problem;

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum AgendaError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No event with this id exists for the caller: unknown, or someone else's private event.
    #[error("event not found")]
    NotFound,
    /// The caller sees the (public) event but is neither its organizer nor an admin.
    #[error("only the organizer or an admin may change this event")]
    NotOrganizer,
    /// An answer already decided elsewhere (an extractor's rejection).
    #[error("{0}")]
    Problem(Box<Problem>),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Problem> for AgendaError {
    fn from(problem: Problem) -> Self {
        AgendaError::Problem(Box::new(problem))
    }
}

impl AgendaError {
    pub fn problem(self) -> Problem {
        match self {
            AgendaError::Validation(error) => Problem::invalid_field(error.field, error.message),
            AgendaError::NotFound => Problem::not_found().detail("No event has this id"),
            AgendaError::NotOrganizer => {
                Problem::forbidden("Only the event's organizer or an admin may change it")
            }
            AgendaError::Problem(problem) => *problem,
            AgendaError::Database(error) => platform::db::database_problem(&error),
            AgendaError::Internal(error) => platform::db::internal_problem(&error),
        }
    }
}

impl IntoResponse for AgendaError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}
