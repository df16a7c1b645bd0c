//! Every way an auth request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, AuthError>`; this is the one place that decides status codes and
//! stable `code`s. Storage and unexpected errors become an opaque 500 and are logged here, once,
//! with their cause chain; nothing internal reaches the client.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use http::StatusCode;
use platform::Problem;
use platform::auth::TokenError;
use platform::error::CommonError;

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefusal {
    Unknown,
    Expired,
    Revoked,
    /// A used token came back: its whole family was just revoked.
    Reused,
}

impl RefreshRefusal {
    /// What a client is told.
    pub fn detail(self) -> &'static str {
        match self {
            RefreshRefusal::Unknown => "The refresh token is not valid",
            RefreshRefusal::Expired => "The refresh token has expired; log in again",
            RefreshRefusal::Revoked => "The session was ended; log in again",
            RefreshRefusal::Reused => {
                "The refresh token was already used; the session has been ended; log in again"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the username is taken")]
    UsernameTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed login attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// Too many registrations from one address within the hour.
    #[error("too many registrations from this address")]
    TooManyRegistrations { retry_after_secs: u64 },
    #[error("refresh token refused: {0:?}")]
    InvalidRefreshToken(RefreshRefusal),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A valid token whose account has been deleted.
    #[error("the token's account no longer exists")]
    UnknownAccount,
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

impl AuthError {
    pub fn problem(self) -> Problem {
        match self {
            AuthError::UsernameTaken => {
                Problem::conflict("username_taken", "This username is already taken")
            }
            AuthError::InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Unauthorized",
            )
            .detail("The username or password is incorrect"),
            AuthError::TooManyAttempts { retry_after_secs } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many requests",
            )
            .detail("Too many failed logins for this account from this address; retry later")
            .retry_after(retry_after_secs),
            AuthError::TooManyRegistrations { retry_after_secs } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_registrations",
                "Too many requests",
            )
            .detail("Too many accounts were registered from this address recently; retry later")
            .retry_after(retry_after_secs),
            AuthError::InvalidRefreshToken(reason) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid_refresh_token",
                "Unauthorized",
            )
            .detail(reason.detail()),
            AuthError::Token(error) => error.into(),
            AuthError::UnknownAccount => Problem::unauthorized(
                "invalid_token",
                "The account this token was issued for no longer exists",
            ),
            AuthError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(AuthError);
