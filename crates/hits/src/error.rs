//! Every way a visit can fail to be counted, and the problem answer each one gets.
//!
//! The rule of the issue is "503, never a wrong count": when the backend cannot be reached the
//! visitor is told to come back ([`HitsError::CounterUnavailable`], with `Retry-After`), and no
//! number is made up. Anything else unexpected is an opaque 500, logged here once with its cause.

use axum::response::{IntoResponse, Response};
use platform::Problem;

use crate::domain::InvalidCount;

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum HitsError {
    /// The backend did not answer (down, unreachable, or too slow), even after the retries.
    #[error("the {backend} counter is unavailable: {cause}")]
    CounterUnavailable {
        backend: &'static str,
        /// Why, for the log (a Redis or database message; never sent to the client).
        cause: String,
    },
    /// The stored counter does not hold a visit count (someone wrote to it by hand).
    #[error(transparent)]
    InvalidCount(#[from] InvalidCount),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("redis error")]
    Redis(#[source] redis::RedisError),
}

impl HitsError {
    pub fn problem(self) -> Problem {
        match self {
            HitsError::CounterUnavailable { backend, cause } => {
                tracing::warn!(backend, cause, "the hit counter is unavailable");
                Problem::service_unavailable(
                    "counter_unavailable",
                    "The hit counter cannot be reached right now; retry later",
                )
                .retry_after(RETRY_AFTER_SECS)
            }
            HitsError::InvalidCount(error) => {
                tracing::error!(error = %error, "unusable counter value");
                Problem::internal()
            }
            HitsError::Database(error) => platform::db::database_problem(&error),
            HitsError::Redis(error) => {
                tracing::error!(error = %error, "redis error");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for HitsError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}
