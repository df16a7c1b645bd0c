//! The auth service's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies into these types first ("parse, don't validate"); everything
//! after that point works with values that are known to be acceptable, so no other layer
//! re-checks lengths or characters. Nothing here knows about HTTP or SQL: a failed parse is a
//! [`ValidationError`] naming the input field, which the error layer turns into a 422.

mod account;
mod client_id;
mod email;
mod password;
mod profile;
mod username;

pub use account::{NewAccount, Profile};
pub use client_id::ClientId;
pub use email::Email;
pub use password::Password;
pub use profile::{Address, PersonName};
pub use username::Username;

/// An input value that was refused, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The JSON field name, as the client sent it.
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

/// Optional free-text inputs: absent, `null`, empty and blank all mean "not given", the way a
/// web form sends an untouched field.
fn given(value: Option<String>) -> Option<String> {
    value.and_then(|text| {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    })
}
