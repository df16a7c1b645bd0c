//! The events orders publishes on `order-events`, one per status change.
//!
//! Events leave through the outbox (written in the transaction of the change, published by the
//! relay), keyed by the order id so one order's events stay in order. The payload is the shape
//! of `docs/service-contracts.md`: the order's id, owner, owner's username (the notifier prints
//! "order … created by alice"), new status, total and lines, and for a failure or cancellation,
//! why.

use platform::events::Event;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::{Order, OrderStatus};
use crate::views::ItemView;

/// The `source` of every event orders produces.
pub const SOURCE: &str = "/orders";

/// Why an order failed or was cancelled, as the `reason` of its event.
pub mod reason {
    /// The bank declined the charge.
    pub const PAYMENT_DECLINED: &str = "payment_declined";
    /// Nobody paid within the configured time.
    pub const PAYMENT_TIMEOUT: &str = "payment_timeout";
    /// The owner cancelled it.
    pub const CANCELLED_BY_CUSTOMER: &str = "cancelled_by_customer";
    /// An admin cancelled it.
    pub const CANCELLED_BY_ADMIN: &str = "cancelled_by_admin";
}

/// The `data` of an order event.
#[derive(Debug, Clone, Serialize)]
pub struct OrderEventData {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub status: &'static str,
    pub total_cents: i64,
    pub items: Vec<ItemView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The event announcing that `order` reached `status` (`order.created` for a new order).
pub fn order_event(order: &Order, status: OrderStatus, reason: Option<&'static str>) -> Event {
    let data = OrderEventData {
        order_id: order.id,
        user_id: order.user_id,
        username: order.username.clone(),
        status: status.as_str(),
        total_cents: order.total_cents,
        items: order.items.iter().map(ItemView::from).collect(),
        reason,
    };
    Event::new(SOURCE, status.event_type(), order.id.to_string(), data)
}
