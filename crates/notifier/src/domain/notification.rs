//! A notification: one order event for the order's owner, or one agenda event for its
//! organizer, in words.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AgendaEvent, OrderEvent};

/// One entry of a user's inbox, as the API and the stream show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    /// UUIDv7 minted when the event is processed: ids sort in creation order, which is what
    /// the stream's `Last-Event-ID` replay relies on.
    pub id: Uuid,
    /// Whose inbox it is in.
    pub user_id: Uuid,
    /// The event type it came from, such as `order.created` or `event.cancelled`.
    pub kind: String,
    /// The human line, as printed on the console.
    pub message: String,
    /// The order's total in cents, for an order notification (so a client can write its own
    /// sentence in its own money format); absent for an agenda one, and for notifications
    /// stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cents: Option<i64>,
    /// Why, when the event says: the orders service's code, such as `payment_declined` or
    /// `cancelled_by_admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agenda event's title, for an agenda notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The order an `order.*` event was about (absent for an agenda notification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
    /// The agenda event an `event.*` was about (absent for an order notification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agenda_event_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub read: bool,
}

impl Notification {
    /// A new, unread notification for `event`'s order owner, created now.
    pub fn for_event(event: &OrderEvent) -> Self {
        let id = Uuid::now_v7();
        Self {
            id,
            user_id: event.user_id,
            kind: event.kind.as_str().to_owned(),
            message: event.describe(),
            total_cents: Some(event.total.get()),
            reason: event.reason.clone(),
            title: None,
            order_id: Some(event.order_id),
            agenda_event_id: None,
            created_at: created_at_of(id),
            read: false,
        }
    }

    /// A new, unread notification of an agenda change for the event's organizer, created now.
    pub fn for_agenda_event(event: &AgendaEvent) -> Self {
        let id = Uuid::now_v7();
        Self {
            id,
            user_id: event.organizer_id,
            kind: event.kind.as_str().to_owned(),
            message: event.describe(),
            total_cents: None,
            reason: None,
            title: Some(event.title.clone()),
            order_id: None,
            agenda_event_id: Some(event.event_id),
            created_at: created_at_of(id),
            read: false,
        }
    }
}

/// The millisecond a UUIDv7 was minted at, so `created_at` and the id's order always agree.
fn created_at_of(id: Uuid) -> OffsetDateTime {
    let millis = id.get_timestamp().map_or(0, |timestamp| {
        let (secs, nanos) = timestamp.to_unix();
        i128::from(secs) * 1000 + i128::from(nanos / 1_000_000)
    });
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Cents, OrderEventKind};

    fn event() -> OrderEvent {
        OrderEvent {
            kind: OrderEventKind::Paid,
            order_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            username: "alice".into(),
            status: Some("paid".into()),
            total: Cents::new(2500).unwrap(),
            item_count: 2,
            reason: Some("payment_declined".into()),
        }
    }

    #[test]
    fn a_notification_carries_the_event_line_for_the_orders_owner() {
        let event = event();
        let notification = Notification::for_event(&event);
        assert_eq!(notification.user_id, event.user_id);
        assert_eq!(notification.order_id, Some(event.order_id));
        assert_eq!(notification.agenda_event_id, None);
        assert_eq!(notification.kind, "order.paid");
        assert_eq!(notification.message, event.describe());
        assert_eq!(notification.total_cents, Some(2500));
        assert_eq!(notification.reason.as_deref(), Some("payment_declined"));
        assert_eq!(notification.title, None);
        assert!(!notification.read);
    }

    #[test]
    fn an_agenda_notification_is_for_the_organizer_and_names_the_agenda_event() {
        let data = serde_json::json!({
            "id": Uuid::now_v7(),
            "title": "Rust meetup",
            "starts_at": "2026-12-03T18:00:00Z",
            "organizer_id": Uuid::now_v7(),
            "organizer_username": "alice",
        });
        let event = AgendaEvent::parse("event.cancelled", &data).unwrap();
        let notification = Notification::for_agenda_event(&event);
        assert_eq!(notification.user_id, event.organizer_id);
        assert_eq!(notification.agenda_event_id, Some(event.event_id));
        assert_eq!(notification.order_id, None);
        assert_eq!(notification.kind, "event.cancelled");
        assert_eq!(notification.message, event.describe());
        assert_eq!(notification.title.as_deref(), Some("Rust meetup"));
        let shown = serde_json::to_value(&notification).unwrap();
        for absent in ["order_id", "total_cents", "reason"] {
            assert!(shown.get(absent).is_none(), "{shown}");
        }
    }

    #[test]
    fn ids_sort_in_creation_order_and_match_created_at() {
        let before = OffsetDateTime::now_utc() - time::Duration::milliseconds(1);
        let first = Notification::for_event(&event());
        let second = Notification::for_event(&event());
        assert!(first.id < second.id);
        assert!(first.id.to_string() < second.id.to_string());
        assert!(first.created_at <= second.created_at);
        assert!(first.created_at >= before);
        assert_eq!(first.created_at.nanosecond() % 1_000_000, 0);
    }
}
