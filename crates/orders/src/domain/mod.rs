//! The orders service's vocabulary as types that can only hold valid values.
//!
//! Handlers parse request bodies into these types first ("parse, don't validate"): once a
//! [`NewOrder`] exists, its lines are known to be 1 to 100 distinct products with quantities
//! from 1 to 1000, so neither the saga nor storage re-checks them. The order's life cycle (which
//! status may follow which) is decided here too, in [`OrderStatus`], so every path that changes
//! a status (payment, cancel, expiry, admin) obeys the same table. Nothing here knows about HTTP
//! or SQL: a failed parse is a [`ValidationError`] naming the input field, which the error layer
//! turns into a 422.

mod new_order;
mod order;

pub use new_order::{
    MAX_LINES, MAX_QUANTITY, NewOrder, NewOrderLine, ProductId, Quantity, ShippingAddress,
};
pub use order::{Order, OrderItem, OrderStatus, line_total, order_total};
use platform::domain::KeyRules;
pub use platform::domain::{IdempotencyKey, Page};

/// Orders' `Idempotency-Key`s: up to 255 characters, enough for any client's scheme.
pub const KEY_RULES: KeyRules = KeyRules {
    max_chars: 255,
    charset_message: "may contain only visible ASCII characters",
};

pub use platform::domain::ValidationError;
