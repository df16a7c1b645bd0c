//! Every way an orders request can fail, and the problem answer each one gets.
//!
//! Handlers return `Result<_, OrdersError>`; this is the one place that decides status codes and
//! stable `code`s. Storage and unexpected errors become an opaque 500, logged here once with
//! their cause chain. The payment outcomes that are not a success (declined, bank unavailable)
//! are not errors of the request but answers about an order that exists; they are shaped in
//! [`crate::routes`] with the order attached.
//!
//! A database that cannot be reached (connection refused or lost, pool timeout) is a state of
//! the service, not a bug: it answers 503 `database_unavailable` with `Retry-After` (see
//! `platform::db::is_unavailable`).

use http::StatusCode;
use platform::Problem;
use platform::error::CommonError;
use uuid::Uuid;

use crate::domain::OrderStatus;

#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    /// No address in the request and none to be found in the profile.
    #[error("no shipping address: {0}")]
    MissingAddress(&'static str),
    #[error("unknown product {product_id}")]
    UnknownProduct {
        product_id: i64,
        /// The request line naming it, when known.
        line: Option<usize>,
    },
    #[error("insufficient stock for product {product_id}")]
    InsufficientStock {
        product_id: i64,
        line: Option<usize>,
    },
    /// The total is more than the bank can charge: nothing was stored.
    #[error("the order total {total_cents} is above the maximum charge")]
    TotalTooLarge { total_cents: i64 },
    /// The profile holding the default shipping address could not be read: nothing was stored.
    #[error("the users service is unavailable")]
    UsersUnavailable { retry_after: std::time::Duration },
    /// Products could not be reached: nothing was stored.
    #[error("the products service is unavailable")]
    ProductsUnavailable { retry_after: std::time::Duration },
    #[error("the same Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    RequestInProgress,
    #[error("no such order")]
    NotFound,
    #[error("order {order_id} is {status}, not awaiting payment")]
    NotAwaitingPayment { order_id: Uuid, status: OrderStatus },
    #[error("an order cannot go from {from} to {to}")]
    IllegalTransition { from: OrderStatus, to: OrderStatus },
    /// A refused input, an extractor's rejection, a database or unexpected error: the same
    /// answers in every service.
    #[error(transparent)]
    Common(#[from] CommonError),
}

fn line_field(line: Option<usize>) -> String {
    match line {
        Some(index) => format!("items[{index}].product_id"),
        None => "items".to_owned(),
    }
}

impl OrdersError {
    pub fn problem(self) -> Problem {
        match self {
            OrdersError::MissingAddress(why) => {
                Problem::invalid_field("shipping_address", format!("is required: {why}"))
            }
            OrdersError::UnknownProduct { product_id, line } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_product",
                "Invalid input",
            )
            .detail(format!("There is no product {product_id}"))
            .field(
                line_field(line),
                format!("product {product_id} does not exist"),
            )
            .with("product_id", product_id),
            OrdersError::InsufficientStock { product_id, line } => Problem::conflict(
                "insufficient_stock",
                format!("Not enough stock of product {product_id} for this order"),
            )
            .field(line_field(line), "not enough stock")
            .with("product_id", product_id),
            OrdersError::TotalTooLarge { total_cents } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "total_too_large",
                "Invalid input",
            )
            .detail(format!(
                "The order comes to {total_cents} cents; one payment is at most {} cents. \
                 Split it into several orders",
                platform::money::MAX_AMOUNT_CENTS
            ))
            .field("items", "the total is above the maximum payment")
            .with("total_cents", total_cents)
            .with("max_total_cents", platform::money::MAX_AMOUNT_CENTS),
            OrdersError::UsersUnavailable { retry_after } => Problem::service_unavailable(
                "service_unavailable",
                "Your profile (for the default shipping address) cannot be read right now; \
                 nothing was ordered. Retry shortly, or give shipping_address",
            )
            .retry_after(crate::upstream::retry_after_secs(retry_after)),
            OrdersError::ProductsUnavailable { retry_after } => Problem::service_unavailable(
                "service_unavailable",
                "The catalogue cannot be reached right now; nothing was ordered, retry shortly",
            )
            .retry_after(crate::upstream::retry_after_secs(retry_after)),
            OrdersError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Invalid input",
            )
            .detail("This Idempotency-Key was already used for a different order request")
            .field("Idempotency-Key", "already used for a different request"),
            OrdersError::RequestInProgress => Problem::conflict(
                "request_in_progress",
                "A request with this Idempotency-Key is still being processed; retry shortly",
            )
            .retry_after(1),
            OrdersError::NotFound => {
                Problem::not_found().detail("No order with this id is visible to you")
            }
            OrdersError::NotAwaitingPayment { order_id, status } => Problem::conflict(
                "not_awaiting_payment",
                format!("The order is {status}; only an order awaiting payment can be paid"),
            )
            .with("order_id", order_id)
            .with("order_status", status.as_str()),
            OrdersError::IllegalTransition { from, to } => Problem::conflict(
                "illegal_transition",
                format!("An order cannot go from {from} to {to}"),
            )
            .with("order_status", from.as_str()),
            OrdersError::Common(common) => common.into(),
        }
    }
}

platform::service_error!(OrdersError);
