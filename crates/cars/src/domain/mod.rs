//! The cars service's vocabulary as types that can only hold valid values.
//!
//! Request bodies deserialize straight into these types ("parse, don't validate"): a brand of
//! 65 characters or a year of 1850 never becomes a value, so storage and handlers never re-check
//! them. The JSON layer names the offending field as the client spelled it (`année`, not
//! `year`), because the check runs while that key is being read. Query strings are parsed by
//! [`CarQuery::parse`], which names the parameter the same way. Nothing here knows about HTTP
//! or SQL.

mod car;
mod listing;
mod text;
mod year;

pub use car::{Car, CarChanges, CarDetails};
pub use listing::{CarFilter, CarQuery, Direction, Page, Sort, SortKey};
pub use platform::domain::ValidationError;
pub use text::{Brand, Color, MAX_TEXT_CHARS, Model};
pub use year::{FIRST_YEAR, Year};

/// Why one value is not acceptable, for a human; the caller knows which field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(String);

impl InvalidValue {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }

    /// This refusal as the value of `field` (`marque` when that is what the client sent).
    pub fn at(self, field: &str) -> ValidationError {
        ValidationError::new(field, self.0)
    }
}
