//! An order event as the notifier understands it, and the one human line it becomes.
//!
//! The payload is parsed from the event's `data` (the shape in `docs/service-contracts.md`)
//! into what the line needs; a payload that does not parse can never be processed and goes to
//! the dead-letter topic. Unknown fields are ignored on purpose: the orders service may add
//! fields to its events, and a consumer that broke on them would stall the whole topic.
//! An unknown event type is not an error either: it still becomes a (generic) line, so a new
//! order status never silences the notifier.

use serde::Deserialize;
use uuid::Uuid;

use super::Cents;

/// Longest reason or status shown in a line; the rest is cut (a line is for a console).
const MAX_TEXT_CHARS: usize = 200;

/// The order event types the notifier knows by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEventKind {
    Created,
    Paid,
    PaymentFailed,
    Cancelled,
    Shipped,
    Delivered,
    /// A type this version does not know yet, kept as sent.
    Other(String),
}

impl OrderEventKind {
    pub fn parse(kind: &str) -> Self {
        match kind {
            "order.created" => Self::Created,
            "order.paid" => Self::Paid,
            "order.payment_failed" => Self::PaymentFailed,
            "order.cancelled" => Self::Cancelled,
            "order.shipped" => Self::Shipped,
            "order.delivered" => Self::Delivered,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The event type, as on the bus (`order.created`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Created => "order.created",
            Self::Paid => "order.paid",
            Self::PaymentFailed => "order.payment_failed",
            Self::Cancelled => "order.cancelled",
            Self::Shipped => "order.shipped",
            Self::Delivered => "order.delivered",
            Self::Other(kind) => kind,
        }
    }
}

/// Why an event's payload cannot become a notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable order event payload: {0}")]
pub struct PayloadError(String);

/// An order event, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub kind: OrderEventKind,
    pub order_id: Uuid,
    /// The order's owner: who gets the notification.
    pub user_id: Uuid,
    pub username: String,
    /// The order's status after the event, as the orders service names it.
    pub status: Option<String>,
    pub total: Cents,
    /// Units over all lines (`2 × A + 1 × B` is 3 items).
    pub item_count: u64,
    pub reason: Option<String>,
}

/// The wire shape of `data`; only what the line needs is read.
#[derive(Debug, Deserialize)]
struct Payload {
    order_id: Uuid,
    user_id: Uuid,
    username: String,
    #[serde(default)]
    status: Option<String>,
    total_cents: i64,
    items: Vec<PayloadLine>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PayloadLine {
    quantity: u64,
}

impl OrderEvent {
    /// Parses an event of type `kind` with payload `data`.
    pub fn parse(kind: &str, data: &serde_json::Value) -> Result<Self, PayloadError> {
        let payload: Payload = serde_path_to_error::deserialize(data).map_err(|error| {
            let path = error.path().to_string();
            PayloadError(format!("{path}: {}", error.into_inner()))
        })?;
        let username = one_line(&payload.username);
        if username.is_empty() {
            return Err(PayloadError("username is empty".into()));
        }
        let total = Cents::new(payload.total_cents)
            .ok_or_else(|| PayloadError("total_cents is negative".into()))?;
        let item_count = payload
            .items
            .iter()
            .try_fold(0u64, |sum, line| sum.checked_add(line.quantity))
            .ok_or_else(|| PayloadError("item quantities overflow".into()))?;
        Ok(Self {
            kind: OrderEventKind::parse(kind),
            order_id: payload.order_id,
            user_id: payload.user_id,
            username,
            status: non_blank(payload.status.as_deref()),
            total,
            item_count,
            reason: non_blank(payload.reason.as_deref()),
        })
    }

    /// The line printed on the console and stored as the notification's message.
    ///
    /// `order 0193… created by alice: 2 items, 25.00 EUR`; always exactly one line.
    pub fn describe(&self) -> String {
        let Self {
            order_id,
            username,
            total,
            ..
        } = self;
        let reason = self.reason.as_deref().map(human_reason);
        let with_reason = |line: String| match &reason {
            Some(reason) => format!("{line} ({reason})"),
            None => line,
        };
        match &self.kind {
            OrderEventKind::Created => {
                let noun = if self.item_count == 1 {
                    "item"
                } else {
                    "items"
                };
                format!(
                    "order {order_id} created by {username}: {} {noun}, {total}",
                    self.item_count
                )
            }
            OrderEventKind::Paid => format!("order {order_id} paid by {username}: {total}"),
            OrderEventKind::PaymentFailed => with_reason(format!(
                "order {order_id} payment failed for {username}: {total}"
            )),
            // "by alice" only when alice did it: an expiry or an admin cancels for her.
            OrderEventKind::Cancelled => match self.reason.as_deref() {
                None | Some(reason::CANCELLED_BY_CUSTOMER) => {
                    format!("order {order_id} cancelled by {username}")
                }
                Some(_) => with_reason(format!("order {order_id} cancelled for {username}")),
            },
            OrderEventKind::Shipped => format!("order {order_id} shipped to {username}"),
            OrderEventKind::Delivered => format!("order {order_id} delivered to {username}"),
            OrderEventKind::Other(kind) => {
                let status = self.status.clone().unwrap_or_else(|| one_line(kind));
                with_reason(format!(
                    "order {order_id} is now {status} for {username}: {total}"
                ))
            }
        }
    }
}

/// The `reason` codes the orders service writes (its `events::reason`).
mod reason {
    pub const PAYMENT_DECLINED: &str = "payment_declined";
    pub const PAYMENT_TIMEOUT: &str = "payment_timeout";
    pub const CANCELLED_BY_CUSTOMER: &str = "cancelled_by_customer";
    pub const CANCELLED_BY_ADMIN: &str = "cancelled_by_admin";
}

/// A reason in words: the known codes read naturally, any other text is shown as sent with
/// underscores as spaces.
fn human_reason(code: &str) -> String {
    match code {
        reason::PAYMENT_DECLINED => "payment declined".to_owned(),
        reason::PAYMENT_TIMEOUT => "not paid in time".to_owned(),
        reason::CANCELLED_BY_CUSTOMER => "by the customer".to_owned(),
        reason::CANCELLED_BY_ADMIN => "by an admin".to_owned(),
        other => other.replace('_', " "),
    }
}

/// Text made safe for a one-line console message: control characters (newlines included)
/// become spaces, runs of spaces collapse, and the length is bounded.
pub(super) fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut words = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = words.char_indices().nth(MAX_TEXT_CHARS) {
        words.truncate(cut);
        words.push('…');
    }
    words
}

fn non_blank(text: Option<&str>) -> Option<String> {
    text.map(one_line).filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORDER: &str = "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";

    fn data(patch: serde_json::Value) -> serde_json::Value {
        let mut data = json!({
            "order_id": ORDER,
            "user_id": "0193a3c4-0000-7000-8000-000000000001",
            "username": "alice",
            "status": "awaiting_payment",
            "total_cents": 2500,
            "items": [
                {"product_id": 1, "name": "Fraises", "unit_price_cents": 1000, "quantity": 2, "line_total_cents": 2000},
                {"product_id": 2, "name": "Sucre", "unit_price_cents": 500, "quantity": 1, "line_total_cents": 500}
            ]
        });
        for (key, value) in patch.as_object().unwrap() {
            data[key] = value.clone();
        }
        data
    }

    fn line(kind: &str, patch: serde_json::Value) -> String {
        OrderEvent::parse(kind, &data(patch)).unwrap().describe()
    }

    #[test]
    fn a_created_order_shows_its_items_and_total() {
        assert_eq!(
            line("order.created", json!({})),
            format!("order {ORDER} created by alice: 3 items, 25.00 EUR")
        );
    }

    #[test]
    fn one_item_is_singular() {
        let items = json!([{"product_id": 1, "quantity": 1}]);
        assert_eq!(
            line("order.created", json!({"items": items, "total_cents": 999})),
            format!("order {ORDER} created by alice: 1 item, 9.99 EUR")
        );
    }

    #[test]
    fn a_paid_order_shows_its_total() {
        assert_eq!(
            line("order.paid", json!({"status": "paid"})),
            format!("order {ORDER} paid by alice: 25.00 EUR")
        );
    }

    #[test]
    fn a_failed_payment_shows_the_total_and_the_reason() {
        assert_eq!(
            line(
                "order.payment_failed",
                json!({"status": "payment_failed", "reason": "payment_declined"})
            ),
            format!("order {ORDER} payment failed for alice: 25.00 EUR (payment declined)")
        );
        assert_eq!(
            line("order.payment_failed", json!({})),
            format!("order {ORDER} payment failed for alice: 25.00 EUR")
        );
    }

    #[test]
    fn a_cancelled_order_says_who_cancelled_it() {
        let cancelled = |reason: serde_json::Value| {
            line(
                "order.cancelled",
                json!({"status": "cancelled", "reason": reason}),
            )
        };
        assert_eq!(
            cancelled(json!("cancelled_by_customer")),
            format!("order {ORDER} cancelled by alice")
        );
        assert_eq!(
            cancelled(json!(null)),
            format!("order {ORDER} cancelled by alice")
        );
        assert_eq!(
            cancelled(json!("cancelled_by_admin")),
            format!("order {ORDER} cancelled for alice (by an admin)")
        );
        assert_eq!(
            cancelled(json!("payment_timeout")),
            format!("order {ORDER} cancelled for alice (not paid in time)")
        );
        assert_eq!(
            cancelled(json!("out_of_stock")),
            format!("order {ORDER} cancelled for alice (out of stock)")
        );
    }

    #[test]
    fn shipping_and_delivery_have_their_own_lines() {
        assert_eq!(
            line("order.shipped", json!({"status": "shipped"})),
            format!("order {ORDER} shipped to alice")
        );
        assert_eq!(
            line("order.delivered", json!({"status": "delivered"})),
            format!("order {ORDER} delivered to alice")
        );
    }

    #[test]
    fn an_unknown_type_still_gives_a_line_with_the_status() {
        assert_eq!(
            line("order.returned", json!({"status": "returned"})),
            format!("order {ORDER} is now returned for alice: 25.00 EUR")
        );
        let event = OrderEvent::parse("order.returned", &data(json!({}))).unwrap();
        assert_eq!(event.kind.as_str(), "order.returned");
    }

    #[test]
    fn the_line_never_spans_several_lines() {
        let text = line(
            "order.cancelled",
            json!({"username": "al\nice", "reason": "a\r\nb\tc"}),
        );
        assert_eq!(text, format!("order {ORDER} cancelled for al ice (a b c)"));
        let long = "x".repeat(1000);
        let text = line("order.cancelled", json!({"reason": long}));
        assert!(text.chars().count() < 300, "{text}");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn the_refusal_names_the_field() {
        let error =
            OrderEvent::parse("order.paid", &data(json!({"total_cents": "25.00"}))).unwrap_err();
        assert!(error.to_string().contains("total_cents"), "{error}");
    }

    #[test]
    fn extra_fields_are_ignored() {
        assert!(OrderEvent::parse("order.paid", &data(json!({"coupon": "X"}))).is_ok());
    }

    #[test]
    fn unusable_payloads_are_refused() {
        let bad = [
            json!("not an object"),
            json!({}),
            data(json!({"order_id": "nope"})),
            data(json!({"user_id": 42})),
            data(json!({"username": "  "})),
            data(json!({"total_cents": -1})),
            data(json!({"total_cents": "25.00"})),
            data(json!({"items": [{"quantity": -2}]})),
            data(json!({"items": null})),
        ];
        for payload in bad {
            assert!(
                OrderEvent::parse("order.created", &payload).is_err(),
                "{payload} was accepted"
            );
        }
    }
}
