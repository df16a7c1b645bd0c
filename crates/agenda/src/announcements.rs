//! What the agenda tells other services: `event.created`, `event.updated` and
//! `event.cancelled` on `agenda-events`.
//!
//! Each change writes its announcement into the agenda's outbox in the same transaction as the
//! change ([`crate::storage`]), and the relay publishes it, so an announcement never describes
//! a change that rolled back and a committed change is always announced, even across a broker
//! outage. The subject (and bus key) is the event's id, so one event's announcements stay in
//! order. The payload is the event resource as the API shows it, plus the organizer's username
//! (the notifier prints "created by alice") and the username of whoever made this change (an
//! admin may update or cancel someone else's event). A cancelled event carries its last state.

use platform::events::Event as Envelope;
use serde::Serialize;

use crate::storage::AgendaEvent;
use crate::views::EventView;

/// The CloudEvents `source` of the agenda's announcements.
pub const SOURCE: &str = "/agenda";

/// What happened to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    /// Deleted by its organizer or an admin.
    Cancelled,
}

impl Change {
    /// The CloudEvents `type`.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Created => "event.created",
            Self::Updated => "event.updated",
            Self::Cancelled => "event.cancelled",
        }
    }
}

/// The `data` of an announcement.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EventData {
    #[serde(flatten)]
    pub event: EventView,
    pub organizer_username: String,
    /// Who made this change: the organizer, or an admin.
    pub actor_username: String,
}

/// The announcement of `change` to `event`, made by `actor` (a username).
pub fn announce(change: Change, event: &AgendaEvent, actor: &str) -> Envelope {
    let data = EventData {
        event: EventView::from(event),
        organizer_username: event.organizer_username.clone(),
        actor_username: actor.to_owned(),
    };
    Envelope::new(SOURCE, change.event_type(), event.id.to_string(), data)
}
