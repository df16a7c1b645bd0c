//! An agenda event as the API shows it, and as its announcements carry it.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::storage::AgendaEvent;

/// The event resource. Times are RFC 3339 in UTC.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub title: String,
    /// Empty when there is none.
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// Strictly after `starts_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Empty when unknown.
    pub location: String,
    /// `public` (everyone sees it) or `private` (only its organizer and admins).
    #[schema(value_type = String)]
    pub visibility: &'static str,
    pub organizer_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&AgendaEvent> for EventView {
    fn from(event: &AgendaEvent) -> Self {
        Self {
            id: event.id.uuid(),
            title: event.title.clone(),
            description: event.description.clone(),
            starts_at: event.starts_at.to_datetime(),
            ends_at: event.ends_at.to_datetime(),
            location: event.location.clone(),
            visibility: event.visibility.as_str(),
            organizer_id: event.organizer_id,
            created_at: event.created_at.to_datetime(),
            updated_at: event.updated_at.to_datetime(),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct EventList {
    pub items: Vec<EventView>,
    /// Events matching the query that the caller may see, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}
