//! Every way a products request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, ProductsError>`; this is the one place that decides status codes
//! and stable `code`s. Storage and unexpected errors become an opaque 500 and are logged here,
//! once, with their cause; nothing internal reaches the client.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use http::StatusCode;
use platform::Problem;
use platform::error::CommonError;

use crate::domain::{OrderId, ProductId};

#[derive(Debug, thiserror::Error)]
pub enum ProductsError {
    /// No product has this id.
    #[error("no such product")]
    ProductNotFound,
    /// No reservation exists for this order.
    #[error("no such reservation")]
    ReservationNotFound,
    /// A reservation line names a product that does not exist; nothing was reserved.
    #[error("product {product_id} does not exist")]
    UnknownProduct {
        product_id: ProductId,
        /// The request line it came from.
        index: usize,
    },
    /// A reservation line asks for more than is in stock; nothing was reserved.
    #[error("product {product_id} has {available} in stock, {requested} requested")]
    InsufficientStock {
        product_id: ProductId,
        index: usize,
        requested: i64,
        available: i64,
    },
    /// Confirming a reservation whose stock was already given back.
    #[error("the reservation of order {} was released", .0.key())]
    ReservationReleased(OrderId),
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

impl ProductsError {
    pub fn problem(self) -> Problem {
        match self {
            ProductsError::ProductNotFound => Problem::not_found().detail("No product has this id"),
            ProductsError::ReservationNotFound => {
                Problem::not_found().detail("No reservation exists for this order")
            }
            ProductsError::UnknownProduct { product_id, index } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_product",
                "Unknown product",
            )
            .detail(format!(
                "Product {product_id} does not exist; nothing was reserved"
            ))
            .field(
                format!("items[{index}].product_id"),
                "no product has this id",
            )
            .with("product_id", product_id.get()),
            ProductsError::InsufficientStock {
                product_id,
                index,
                requested,
                available,
            } => Problem::conflict(
                "insufficient_stock",
                format!(
                    "Only {available} of product {product_id} in stock, {requested} requested; \
                     nothing was reserved"
                ),
            )
            .field(
                format!("items[{index}].quantity"),
                format!("only {available} in stock"),
            )
            .with("product_id", product_id.get())
            .with("requested", requested)
            .with("available", available),
            ProductsError::ReservationReleased(order_id) => Problem::conflict(
                "reservation_released",
                "This reservation was released; its stock is no longer held",
            )
            .with("order_id", order_id.uuid()),
            ProductsError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(ProductsError);
