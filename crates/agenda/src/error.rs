//! Every way an agenda request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, AgendaError>`; this is the one place that decides status codes
//! and stable `code`s. Storage and unexpected errors become an opaque 500, logged here once with
//! their cause; nothing internal reaches the client.

use platform::Problem;
use platform::error::CommonError;

#[derive(Debug, thiserror::Error)]
pub enum AgendaError {
    /// No event with this id exists for the caller: unknown, or someone else's private event.
    #[error("event not found")]
    NotFound,
    /// The caller sees the (public) event but is neither its organizer nor an admin.
    #[error("only the organizer or an admin may change this event")]
    NotOrganizer,
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

impl AgendaError {
    pub fn problem(self) -> Problem {
        match self {
            AgendaError::NotFound => Problem::not_found().detail("No event has this id"),
            AgendaError::NotOrganizer => {
                Problem::forbidden("Only the event's organizer or an admin may change it")
            }
            AgendaError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(AgendaError);
