//! The orders service's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies into these types first ("parse, don't validate"): once a
//! [`NewOrder`] exists, its lines are known to be 1 to 100 distinct products with quantities
//! from 1 to 1000, so neither the saga nor storage re-checks them. The order's life cycle (which
//! status may follow which) is decided here too, in [`OrderStatus`], so every path that changes
//! a status (payment, cancel, expiry, admin) obeys the same table. Nothing here knows about HTTP
//! or SQL: a failed parse is a [`ValidationError`] naming the input field, which the error layer
//! turns into a 422.

mod idempotency;
mod new_order;
mod order;
mod page;

pub use idempotency::IdempotencyKey;
pub use new_order::{
    MAX_LINES, MAX_QUANTITY, NewOrder, NewOrderLine, ProductId, Quantity, ShippingAddress,
};
pub use order::{Order, OrderItem, OrderStatus, line_total, order_total};
pub use page::Page;

/// An input value that was refused, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The JSON path of the field, as the client sent it (`items[0].quantity`).
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
