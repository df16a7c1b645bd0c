//! The bank's vocabulary as types that can only hold valid values.
//!
//! Handlers parse the request (body and `Idempotency-Key` header) and the chaos settings into
//! these types first ("parse, don't validate"); storage and the chaos engine then work with
//! values known to be acceptable. Nothing here knows about HTTP, SQL or tokio: a failed parse is
//! a [`ValidationError`] naming the input, which the error layer turns into a 4xx.

mod chaos;
mod idempotency;
mod payment;

pub use chaos::{ChaosSettings, DeclineRate, Latency, Outage};
pub use idempotency::IdempotencyKey;
pub use payment::{AmountCents, Charge, Decision, PaymentStatus};

/// An input value that was refused, with the field (or header) it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The JSON field name, or the header name, as the client sent it.
    pub field: &'static str,
    /// What is wrong, for a human.
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
