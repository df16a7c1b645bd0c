//! How an order looks from outside: in API answers and in the `order-events` payloads.
//!
//! Both carry the same item shape (`docs/service-contracts.md`), so the notifier and a client
//! read one format.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Order, OrderItem};

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub product_id: i64,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: u32,
    pub line_total_cents: i64,
}

impl From<&OrderItem> for ItemView {
    fn from(item: &OrderItem) -> Self {
        Self {
            product_id: item.product_id,
            name: item.name.clone(),
            unit_price_cents: item.unit_price_cents,
            quantity: item.quantity,
            line_total_cents: item.line_total_cents,
        }
    }
}

/// An order as the API shows it: always with its lines (a seed answered orders without them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub user_id: Uuid,
    #[schema(value_type = String)]
    pub status: &'static str,
    pub items: Vec<ItemView>,
    pub total_cents: i64,
    pub shipping_address: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Order> for OrderView {
    fn from(order: &Order) -> Self {
        Self {
            id: order.id,
            user_id: order.user_id,
            status: order.status.as_str(),
            items: order.items.iter().map(ItemView::from).collect(),
            total_cents: order.total_cents,
            shipping_address: order.shipping_address.clone(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

/// One page of `GET /orders`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrdersPage {
    pub items: Vec<OrderView>,
    /// Orders in all pages, for the client's page count.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}
