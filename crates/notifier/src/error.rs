//! Every way a notifier request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, NotifierError>`; this is the one place that decides status codes
//! and stable `code`s. Storage and unexpected errors become an opaque 500, logged here once with
//! their cause; nothing internal reaches the client.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use platform::Problem;
use platform::error::CommonError;

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    /// No such notification in the caller's inbox (another user's is the same answer).
    #[error("notification not found")]
    NotFound,
    /// No room for one more notification stream.
    #[error("too many streams: {0:?}")]
    TooManyStreams(crate::streams::StreamRefusal),
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

/// The wait suggested to a client refused a stream.
const STREAM_RETRY_AFTER_SECS: u64 = 5;

impl NotifierError {
    pub fn problem(self) -> Problem {
        match self {
            NotifierError::NotFound => Problem::new(
                http::StatusCode::NOT_FOUND,
                "notification_not_found",
                "Not found",
            )
            .detail("No notification with this id in your inbox"),
            NotifierError::TooManyStreams(crate::streams::StreamRefusal::UserFull(limit)) => {
                Problem::new(
                    http::StatusCode::TOO_MANY_REQUESTS,
                    "too_many_streams",
                    "Too many requests",
                )
                .detail(format!(
                    "You already have {limit} notification streams open; close one (another tab \
                     or device) first"
                ))
                .with("max_streams_per_user", limit)
                .retry_after(STREAM_RETRY_AFTER_SECS)
            }
            NotifierError::TooManyStreams(crate::streams::StreamRefusal::ProcessFull(_)) => {
                Problem::service_unavailable(
                    "streams_unavailable",
                    "This notifier instance holds as many streams as it can; retry shortly",
                )
                .retry_after(STREAM_RETRY_AFTER_SECS)
            }
            NotifierError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(NotifierError);
