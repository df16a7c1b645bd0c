//! The bank's vocabulary as types that can only hold valid values.
//!
//! Handlers parse the request (body and `Idempotency-Key` header) and the chaos settings into
//! these types first ("parse, don't validate"); storage and the chaos engine then work with
//! values known to be acceptable. Nothing here knows about HTTP, SQL or tokio: a failed parse is
//! a [`ValidationError`] naming the input, which the error layer turns into a 4xx.

mod chaos;
mod payment;

pub use chaos::{ChaosSettings, DeclineRate, Latency, Outage};
pub use platform::domain::IdempotencyKey;
use platform::domain::KeyRules;

/// The bank's idempotency keys: orders sends one per order (a UUID), well within 200
/// characters.
pub const KEY_RULES: KeyRules = KeyRules {
    max_chars: 200,
    charset_message: "may contain only visible ASCII characters (no spaces)",
};
pub use payment::{AmountCents, Charge, Decision, Payment, PaymentStatus};

pub use platform::domain::ValidationError;
