//! The products service's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies, paths and query strings into these types first ("parse, don't
//! validate"); storage and the reservation logic then work with values known to be acceptable.
//! Nothing here knows about HTTP or SQL: a failed parse is a [`ValidationError`] naming the
//! input field as the client sent it, which the error layer turns into a 422.

mod listing;
mod price;
mod product;
mod reservation;

pub use listing::{Page, ProductQuery, SearchTerm};
pub use price::PriceCents;
pub use product::{
    Category, Description, ImagePath, NewProduct, ProductChanges, ProductId, ProductName, Stock,
};
pub use reservation::{
    MAX_LINES, MAX_QUANTITY, OrderId, Quantity, ReservationLine, ReservationRequest,
    ReservationStatus,
};

/// An input value that was refused, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field as the client named it: `prix`, `items[2].quantity`.
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

/// Refuses a value sent under both its English name and the seeds' French one (`name` and
/// `nom`, `price_cents` and `prix`): which one wins would be a guess.
pub fn at_most_one(
    (english, english_given): (&str, bool),
    (french, french_given): (&str, bool),
) -> Result<(), ValidationError> {
    if english_given && french_given {
        return Err(ValidationError::new(
            french,
            format!("give either {english} or {french}, not both"),
        ));
    }
    Ok(())
}
