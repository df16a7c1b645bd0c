//! Every way a cars request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, CarsError>`; this is the one place that decides status codes and
//! stable `code`s. Storage and unexpected errors become an opaque 500 and are logged here, once,
//! with their cause chain; nothing internal reaches the client.

use platform::Problem;
use platform::error::CommonError;

#[derive(Debug, thiserror::Error)]
pub enum CarsError {
    /// No car the caller may see has this id: also the answer for another user's car, so ids
    /// cannot be probed.
    #[error("no such car")]
    NotFound,
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

impl CarsError {
    pub fn problem(self) -> Problem {
        match self {
            CarsError::NotFound => Problem::not_found().detail("No car with this id"),
            CarsError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(CarsError);
