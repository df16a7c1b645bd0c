//! An order as stored and shown, and its life cycle.
//!
//! ```text
//!                    ┌──────────► paid ──────────► shipped ──► delivered
//!                    │             │ (cancel: refund + release)
//! awaiting_payment ──┼──► payment_failed ──┐
//!                    │                     ▼
//!                    └───────────────► cancelled   (cancel, admin, payment timeout)
//! ```
//!
//! `paid` and `payment_failed` are set only by the payment saga (the bank's answer);
//! an admin may move an order along the shipping path or cancel it, and nothing leaves
//! `cancelled` or `delivered`.

use time::OffsetDateTime;
use uuid::Uuid;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    AwaitingPayment,
    Paid,
    PaymentFailed,
    Cancelled,
    Shipped,
    Delivered,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::AwaitingPayment,
        OrderStatus::Paid,
        OrderStatus::PaymentFailed,
        OrderStatus::Cancelled,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// The legal transitions: whether an order in `self` may move to `next`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (AwaitingPayment, Paid)
                | (AwaitingPayment, PaymentFailed)
                | (AwaitingPayment, Cancelled)
                | (Paid, Shipped)
                | (Paid, Cancelled)
                | (PaymentFailed, Cancelled)
                | (Shipped, Delivered)
        )
    }

    /// Whether an admin may ask for this status with `PATCH /orders/{id}`. Payment outcomes
    /// come only from the bank, so an admin cannot mark an order paid.
    pub fn admin_may_set(self) -> bool {
        matches!(
            self,
            OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Cancelled
        )
    }

    /// The event type announcing that an order reached this status on `order-events`.
    pub fn event_type(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "order.created",
            OrderStatus::Paid => "order.paid",
            OrderStatus::PaymentFailed => "order.payment_failed",
            OrderStatus::Cancelled => "order.cancelled",
            OrderStatus::Shipped => "order.shipped",
            OrderStatus::Delivered => "order.delivered",
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of an order, priced by the products service when the stock was reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub product_id: i64,
    /// The product's name at the time of the order.
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: u32,
    pub line_total_cents: i64,
}

/// An order with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The owner's username when the order was placed, for events ("created by alice").
    pub username: String,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub total_cents: i64,
    pub shipping_address: String,
    /// The bank's payment id once a charge was approved (what a refund needs).
    pub payment_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// `unit_price_cents × quantity`, or `None` if the price is negative or the product overflows.
pub fn line_total(unit_price_cents: i64, quantity: u32) -> Option<i64> {
    if unit_price_cents < 0 {
        return None;
    }
    unit_price_cents.checked_mul(i64::from(quantity))
}

/// The sum of the line totals, or `None` on overflow.
pub fn order_total(items: &[OrderItem]) -> Option<i64> {
    items
        .iter()
        .try_fold(0i64, |sum, item| sum.checked_add(item.line_total_cents))
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("PAID"), None);
        assert_eq!(OrderStatus::parse("refunded"), None);
    }

    #[test]
    fn the_transition_table_is_exactly_the_documented_one() {
        let legal = [
            (AwaitingPayment, Paid),
            (AwaitingPayment, PaymentFailed),
            (AwaitingPayment, Cancelled),
            (Paid, Shipped),
            (Paid, Cancelled),
            (PaymentFailed, Cancelled),
            (Shipped, Delivered),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn nothing_leaves_cancelled_or_delivered_and_nothing_returns_to_awaiting_payment() {
        for to in OrderStatus::ALL {
            assert!(!Cancelled.can_become(to));
            assert!(!Delivered.can_become(to));
            assert!(!to.can_become(AwaitingPayment));
        }
    }

    #[test]
    fn admins_may_ship_deliver_and_cancel_but_not_decide_payments() {
        assert!(Shipped.admin_may_set());
        assert!(Delivered.admin_may_set());
        assert!(Cancelled.admin_may_set());
        assert!(!Paid.admin_may_set());
        assert!(!PaymentFailed.admin_may_set());
        assert!(!AwaitingPayment.admin_may_set());
    }

    #[test]
    fn each_status_has_its_event_type() {
        assert_eq!(AwaitingPayment.event_type(), "order.created");
        assert_eq!(Paid.event_type(), "order.paid");
        assert_eq!(PaymentFailed.event_type(), "order.payment_failed");
        assert_eq!(Cancelled.event_type(), "order.cancelled");
    }

    #[test]
    fn totals_are_exact_integer_cents() {
        assert_eq!(line_total(1250, 2), Some(2500));
        assert_eq!(line_total(-1, 2), None);
        assert_eq!(line_total(i64::MAX, 2), None);
        let item = |total| OrderItem {
            product_id: 1,
            name: "x".into(),
            unit_price_cents: total,
            quantity: 1,
            line_total_cents: total,
        };
        assert_eq!(order_total(&[item(2500), item(99)]), Some(2599));
        assert_eq!(order_total(&[item(i64::MAX), item(1)]), None);
    }
}
