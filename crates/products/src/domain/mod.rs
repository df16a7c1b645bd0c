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

pub use listing::{PAGING, Page, ProductQuery, SearchTerm};
pub use price::PriceCents;
pub use product::{
    Category, Description, ImagePath, MAX_NAME_CHARS, NewProduct, ProductChanges, ProductId,
    ProductName, Stock,
};
pub use reservation::{
    MAX_LINES, MAX_QUANTITY, OrderId, Quantity, ReservationLine, ReservationRequest,
    ReservationStatus,
};

pub use platform::domain::ValidationError;

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
