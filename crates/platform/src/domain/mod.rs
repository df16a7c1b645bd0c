//! The vocabulary two or more services share, as types that can only hold valid values.
//!
//! Each service parses its inputs into its own domain types ("parse, don't validate"); the
//! types here are the ones whose rules must be the same in several services, so they are written
//! once: a username or an e-mail address auth accepted at registration must parse as a profile
//! in users, a page of a listing is `limit` and `offset` everywhere, a search term is matched
//! the same way, an `Idempotency-Key` is
//! visible ASCII in orders and at the bank. A failed parse is a [`ValidationError`] naming the
//! field as the client sent it, which becomes a 422 problem ([`ValidationError`] converts into a
//! [`crate::Problem`]). Nothing here knows about HTTP routing or SQL.

mod email;
mod idempotency;
mod page;
mod personal;
mod search;
mod username;

pub use email::Email;
pub use idempotency::{IdempotencyKey, KeyRules};
pub use page::{Page, Paging};
pub use personal::{Address, PersonName, PersonalDetails, given};
pub use search::SearchTerm;
pub use username::Username;

/// An input value that was refused, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field (JSON path, query parameter or header) as the client named it: `marque` when
    /// that is what it sent, `items[0].quantity`, `Idempotency-Key`.
    pub field: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A refused input is a 422 `validation_failed` naming its field, in every service.
impl From<ValidationError> for crate::Problem {
    fn from(error: ValidationError) -> Self {
        crate::Problem::invalid_field(error.field, error.message)
    }
}
