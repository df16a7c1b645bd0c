//! Every way a payments request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, PaymentsError>`; this is the one place that decides status codes
//! and stable `code`s. Storage and unexpected errors become an opaque 500 and are logged here,
//! once, with their cause chain; nothing internal reaches the client.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use http::StatusCode;
use platform::Problem;
use platform::error::CommonError;

use crate::domain::{PaymentStatus, ValidationError};

/// Seconds a caller is told to wait after a simulated outage.
pub const RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// A body field is out of range: 422 naming it.
    #[error("no Idempotency-Key header")]
    IdempotencyKeyRequired,
    /// The header is there but not an acceptable key.
    #[error("invalid Idempotency-Key: {0}")]
    InvalidIdempotencyKey(ValidationError),
    /// The key was first used for another order or amount.
    #[error("the Idempotency-Key was used for a different charge")]
    IdempotencyKeyReused,
    #[error("no such payment")]
    NotFound,
    #[error("a {} payment cannot be refunded", .0.as_str())]
    NotRefundable(PaymentStatus),
    /// The simulated bank is down.
    #[error("payments are unavailable")]
    Unavailable,
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

impl PaymentsError {
    pub fn problem(self) -> Problem {
        match self {
            PaymentsError::IdempotencyKeyRequired => Problem::bad_request(
                "idempotency_key_required",
                "Send an Idempotency-Key header: the same key never charges twice",
            )
            .field("Idempotency-Key", "is required"),
            PaymentsError::InvalidIdempotencyKey(error) => Problem::bad_request(
                "invalid_idempotency_key",
                format!("{}: {}", error.field, error.message),
            )
            .field(error.field, error.message),
            PaymentsError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
            )
            .detail(
                "This Idempotency-Key was first used for a different order or amount; \
                 use a new key for a new charge",
            ),
            PaymentsError::NotFound => Problem::not_found().detail("No payment has this id"),
            PaymentsError::NotRefundable(status) => Problem::conflict(
                "not_refundable",
                format!(
                    "Only an approved payment can be refunded; this one is {}",
                    status.as_str()
                ),
            )
            .with("payment_status", status.as_str()),
            PaymentsError::Unavailable => Problem::service_unavailable(
                "payments_unavailable",
                "The payment provider is unavailable; retry later",
            )
            .retry_after(RETRY_AFTER_SECS),
            PaymentsError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(PaymentsError);
