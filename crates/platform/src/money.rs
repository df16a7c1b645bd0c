//! The one amount limit that orders, products and payments share.
//!
//! The bank (payments) charges at most [`MAX_AMOUNT_CENTS`]. Orders refuses a total above it
//! when the order is placed (422), because a charge the bank can never accept would leave the
//! order awaiting payment forever; products refuses prices above it. One constant, so the three
//! cannot drift apart.

/// The largest amount the bank charges, and the dearest price and order total: one million in
/// the currency's main unit, in cents.
pub const MAX_AMOUNT_CENTS: i64 = 100_000_000;
