//! An agenda event announcement as the notifier understands it, and the one human line it
//! becomes.
//!
//! The payload is the agenda's event resource plus the organizer's and the acting user's
//! usernames (`docs/service-contracts.md`, `agenda-events`); only what the line and the
//! notification need is read, and unknown fields are ignored so the agenda may add some. A
//! payload that does not parse can never be processed and goes to the dead-letter topic. An
//! unknown `event.*` type still becomes a line, so a new kind of change never silences the
//! notifier.

use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use super::order_event::one_line;

/// The agenda announcement types the notifier knows by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgendaEventKind {
    Created,
    Updated,
    Cancelled,
    /// A type this version does not know yet, kept as sent.
    Other(String),
}

impl AgendaEventKind {
    pub fn parse(kind: &str) -> Self {
        match kind {
            "event.created" => Self::Created,
            "event.updated" => Self::Updated,
            "event.cancelled" => Self::Cancelled,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The type, as on the bus (`event.created`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Created => "event.created",
            Self::Updated => "event.updated",
            Self::Cancelled => "event.cancelled",
            Self::Other(kind) => kind,
        }
    }

    /// The verb of the line: `created`, or what follows `event.` in an unknown type.
    fn verb(&self) -> String {
        let kind = self.as_str();
        one_line(kind.strip_prefix("event.").unwrap_or(kind)).replace('_', " ")
    }
}

/// Why an announcement's payload cannot become a notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable agenda event payload: {0}")]
pub struct AgendaPayloadError(String);

/// An agenda announcement, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaEvent {
    pub kind: AgendaEventKind,
    /// The agenda event's id.
    pub event_id: Uuid,
    pub title: String,
    pub starts_at: OffsetDateTime,
    /// Empty when unknown.
    pub location: String,
    /// Who gets the notification.
    pub organizer_id: Uuid,
    pub organizer_username: String,
    /// Who made the change (an admin may change someone else's event); the organizer when the
    /// payload does not say.
    pub actor_username: String,
}

/// The wire shape of `data`; only what the line needs is read.
#[derive(Debug, Deserialize)]
struct Payload {
    id: Uuid,
    title: String,
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(default)]
    location: Option<String>,
    organizer_id: Uuid,
    organizer_username: String,
    #[serde(default)]
    actor_username: Option<String>,
}

impl AgendaEvent {
    /// Parses an announcement of type `kind` with payload `data`.
    pub fn parse(kind: &str, data: &serde_json::Value) -> Result<Self, AgendaPayloadError> {
        let payload: Payload = serde_path_to_error::deserialize(data).map_err(|error| {
            let path = error.path().to_string();
            AgendaPayloadError(format!("{path}: {}", error.into_inner()))
        })?;
        let title = one_line(&payload.title);
        if title.is_empty() {
            return Err(AgendaPayloadError("title is empty".into()));
        }
        let organizer_username = one_line(&payload.organizer_username);
        if organizer_username.is_empty() {
            return Err(AgendaPayloadError("organizer_username is empty".into()));
        }
        let actor_username = payload
            .actor_username
            .as_deref()
            .map(one_line)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| organizer_username.clone());
        Ok(Self {
            kind: AgendaEventKind::parse(kind),
            event_id: payload.id,
            title,
            starts_at: payload.starts_at,
            location: payload
                .location
                .as_deref()
                .map(one_line)
                .unwrap_or_default(),
            organizer_id: payload.organizer_id,
            organizer_username,
            actor_username,
        })
    }

    /// The line printed on the console and stored as the notification's message; always one
    /// line: `event 0193… "Rust meetup" created by alice: 2026-12-03 18:00 UTC at Paris`.
    pub fn describe(&self) -> String {
        let by = match self.kind {
            AgendaEventKind::Created => &self.organizer_username,
            _ => &self.actor_username,
        };
        let when = self
            .starts_at
            .to_offset(time::UtcOffset::UTC)
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_else(|_| "an unknown time".to_owned());
        let mut line = format!(
            "event {} \"{}\" {} by {by}: {when}",
            self.event_id,
            self.title,
            self.kind.verb()
        );
        if !self.location.is_empty() {
            line.push_str(" at ");
            line.push_str(&self.location);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EVENT: &str = "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";

    fn data(patch: serde_json::Value) -> serde_json::Value {
        let mut data = json!({
            "id": EVENT,
            "title": "Rust meetup",
            "description": "Talks",
            "starts_at": "2026-12-03T18:00:00Z",
            "ends_at": "2026-12-03T20:00:00Z",
            "location": "Paris",
            "visibility": "public",
            "organizer_id": "0193a3c4-0000-7000-8000-000000000001",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "organizer_username": "alice",
            "actor_username": "alice",
        });
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                data.as_object_mut().unwrap().remove(key);
            } else {
                data[key] = value.clone();
            }
        }
        data
    }

    fn line(kind: &str, patch: serde_json::Value) -> String {
        AgendaEvent::parse(kind, &data(patch)).unwrap().describe()
    }

    #[test]
    fn each_change_reads_as_its_own_line() {
        assert_eq!(
            line("event.created", json!({})),
            format!(
                "event {EVENT} \"Rust meetup\" created by alice: 2026-12-03 18:00 UTC at Paris"
            )
        );
        assert_eq!(
            line("event.updated", json!({})),
            format!(
                "event {EVENT} \"Rust meetup\" updated by alice: 2026-12-03 18:00 UTC at Paris"
            )
        );
        assert_eq!(
            line("event.cancelled", json!({})),
            format!(
                "event {EVENT} \"Rust meetup\" cancelled by alice: 2026-12-03 18:00 UTC at Paris"
            )
        );
    }

    #[test]
    fn times_are_shown_in_utc_and_an_unknown_place_is_left_out() {
        assert_eq!(
            line(
                "event.created",
                json!({"starts_at": "2026-12-03T19:30:59+01:00", "location": ""})
            ),
            format!("event {EVENT} \"Rust meetup\" created by alice: 2026-12-03 18:30 UTC")
        );
        assert!(!line("event.created", json!({"location": null})).contains(" at "));
    }

    #[test]
    fn an_admins_change_names_the_admin_and_a_creation_the_organizer() {
        let by_admin = json!({"actor_username": "admin"});
        assert!(line("event.cancelled", by_admin.clone()).contains("cancelled by admin:"));
        assert!(line("event.created", by_admin).contains("created by alice:"));
        assert!(line("event.updated", json!({"actor_username": null})).contains("by alice:"));
    }

    #[test]
    fn an_unknown_type_still_makes_a_line() {
        assert_eq!(
            line("event.moved_online", json!({})),
            format!(
                "event {EVENT} \"Rust meetup\" moved online by alice: 2026-12-03 18:00 UTC at Paris"
            )
        );
    }

    #[test]
    fn text_from_the_payload_stays_on_one_bounded_line() {
        let text = line(
            "event.created",
            json!({"title": "Rust\nmeetup", "location": "Pa\r\nris", "organizer_username": "al\tice"}),
        );
        assert_eq!(
            text,
            format!(
                "event {EVENT} \"Rust meetup\" created by al ice: 2026-12-03 18:00 UTC at Pa ris"
            )
        );
        let long = line("event.created", json!({"title": "x".repeat(1000)}));
        assert!(long.chars().count() < 400, "{long}");
    }

    #[test]
    fn the_organizer_gets_it() {
        let event = AgendaEvent::parse("event.created", &data(json!({}))).unwrap();
        assert_eq!(
            event.organizer_id.to_string(),
            "0193a3c4-0000-7000-8000-000000000001"
        );
        assert_eq!(event.event_id.to_string(), EVENT);
    }

    #[test]
    fn unusable_payloads_are_refused_naming_the_field() {
        let error =
            AgendaEvent::parse("event.created", &data(json!({"starts_at": "soon"}))).unwrap_err();
        assert!(error.to_string().contains("starts_at"), "{error}");
        let bad = [
            json!("not an object"),
            json!({}),
            data(json!({"id": "nope"})),
            data(json!({"organizer_id": 42})),
            data(json!({"organizer_username": " "})),
            data(json!({"title": ""})),
            data(json!({"title": null})),
            data(json!({"starts_at": "2026-12-03"})),
        ];
        for payload in bad {
            assert!(
                AgendaEvent::parse("event.created", &payload).is_err(),
                "{payload} was accepted"
            );
        }
    }
}
