//! The users service's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies into these types first ("parse, don't validate"); storage and
//! the event consumer then work with values known to be acceptable, so nothing re-checks lengths
//! or characters later. Nothing here knows about HTTP or SQL: a failed parse is a
//! [`ValidationError`] naming the input field, which the error layer turns into a 422.

mod email;
mod page;
mod phone;
mod profile;
mod text;
mod username;

pub use email::Email;
pub use page::Page;
pub use phone::Phone;
pub use profile::{Change, ProfileChanges, ProfileDetails};
pub use text::{Address, PersonName};
pub use username::Username;

/// An input value that was refused, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The JSON field (or query parameter) name, in its English spelling.
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

/// Optional free-text inputs: `null`, empty and blank all mean "no value", the way a web form
/// sends an untouched field.
fn given(value: Option<String>) -> Option<String> {
    value.and_then(|text| {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    })
}
