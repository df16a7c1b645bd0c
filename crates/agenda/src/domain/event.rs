//! An agenda event's parts: id, title, description, location, schedule and visibility.

use uuid::Uuid;

use super::{Timestamp, ValidationError};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest location, in characters.
pub const MAX_LOCATION_CHARS: usize = 200;

/// An event's id (UUIDv7, minted by the agenda).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(Uuid);

impl EventId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// An id from a URL path segment; `None` when it is not a UUID (it then matches nothing,
    /// and answers 404 like any unknown id).
    pub fn parse_path(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for EventId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Trims `value` and checks its length and characters; `multiline` lets newlines and tabs in.
fn text(
    value: &str,
    field: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters long"),
        ));
    }
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    if !trimmed.chars().all(allowed) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// An event title: 1 to 200 characters once trimmed, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let title = text(value, "title", MAX_TITLE_CHARS, false)?;
        if title.is_empty() {
            return Err(ValidationError::new("title", "must not be empty"));
        }
        Ok(Self(title))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form `?q=` searches: lowercased, so matching ignores case on every database engine.
    pub fn search_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// What the event is about: up to 4000 characters once trimmed, lines allowed; empty when none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        text(value, "description", MAX_DESCRIPTION_CHARS, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// See [`Title::search_key`].
    pub fn search_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Where it happens: up to 200 characters once trimmed, on one line; empty when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location(String);

impl Location {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        text(value, "location", MAX_LOCATION_CHARS, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who may see an event: everyone, or only its organizer (and admins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Visibility {
    #[default]
    Public,
    Private,
}

impl Visibility {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            _ => Err(ValidationError::new(
                "visibility",
                "must be \"public\" or \"private\"",
            )),
        }
    }

    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }
}

/// When an event happens: it ends strictly after it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    starts_at: Timestamp,
    ends_at: Timestamp,
}

impl Schedule {
    /// Refuses an end at or before the start, naming `ends_at`.
    pub fn new(starts_at: Timestamp, ends_at: Timestamp) -> Result<Self, ValidationError> {
        if ends_at <= starts_at {
            return Err(Self::ends_too_early());
        }
        Ok(Self { starts_at, ends_at })
    }

    /// The refusal of an end that is not after the start.
    pub fn ends_too_early() -> ValidationError {
        ValidationError::new("ends_at", "must be after starts_at")
    }

    /// The refusal of a new start that is not before the (unchanged) end.
    pub fn starts_too_late() -> ValidationError {
        ValidationError::new("starts_at", "must be before ends_at")
    }

    pub fn starts_at(self) -> Timestamp {
        self.starts_at
    }

    pub fn ends_at(self) -> Timestamp {
        self.ends_at
    }
}

/// An event to add to the agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub title: Title,
    pub description: Description,
    pub location: Location,
    pub schedule: Schedule,
    pub visibility: Visibility,
}

/// A partial update: only the given parts change.
///
/// When both times are given they were checked together at parse time; when only one is, it is
/// checked against the stored other one, in the same statement that writes it (so two
/// concurrent half-updates can never leave an event that ends before it starts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventChanges {
    pub title: Option<Title>,
    pub description: Option<Description>,
    pub location: Option<Location>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub visibility: Option<Visibility>,
}

impl EventChanges {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.location.is_none()
            && self.starts_at.is_none()
            && self.ends_at.is_none()
            && self.visibility.is_none()
    }

    /// Why the stored event refused these times: the field the client sent names the error
    /// (`ends_at` when it sent both or only the end, `starts_at` when it moved only the start).
    pub fn schedule_error(&self) -> ValidationError {
        if self.ends_at.is_none() && self.starts_at.is_some() {
            Schedule::starts_too_late()
        } else {
            Schedule::ends_too_early()
        }
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaEvent {
    pub id: EventId,
    pub title: String,
    pub description: String,
    pub location: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub visibility: Visibility,
    pub organizer_id: Uuid,
    /// The organizer's username when the event was created (for announcements).
    pub organizer_username: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text, "x").unwrap()
    }

    #[test]
    fn titles_are_trimmed_required_and_bounded() {
        assert_eq!(
            Title::parse("  Rust meetup ").unwrap().as_str(),
            "Rust meetup"
        );
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        for bad in ["", "   ", "a\nb", "a\u{0}b"] {
            assert_eq!(Title::parse(bad).unwrap_err().field, "title", "{bad:?}");
        }
        assert_eq!(Title::parse(&"é".repeat(201)).unwrap_err().field, "title");
    }

    #[test]
    fn descriptions_allow_lines_but_are_bounded() {
        assert_eq!(
            Description::parse(" line one\nline two\t ")
                .unwrap()
                .as_str(),
            "line one\nline two"
        );
        assert!(Description::parse("").unwrap().as_str().is_empty());
        assert!(Description::parse(&"x".repeat(4000)).is_ok());
        assert_eq!(
            Description::parse(&"x".repeat(4001)).unwrap_err().field,
            "description"
        );
        assert!(Description::parse("bell\u{7}").is_err());
    }

    #[test]
    fn locations_are_one_bounded_line() {
        assert_eq!(Location::parse(" Paris ").unwrap().as_str(), "Paris");
        assert!(Location::parse("").is_ok());
        assert!(Location::parse(&"x".repeat(200)).is_ok());
        assert_eq!(
            Location::parse(&"x".repeat(201)).unwrap_err().field,
            "location"
        );
        assert_eq!(Location::parse("a\nb").unwrap_err().field, "location");
    }

    #[test]
    fn visibility_is_public_or_private() {
        assert_eq!(Visibility::parse("public"), Ok(Visibility::Public));
        assert_eq!(Visibility::parse("private"), Ok(Visibility::Private));
        assert_eq!(Visibility::default(), Visibility::Public);
        for bad in ["Public", "secret", ""] {
            assert_eq!(Visibility::parse(bad).unwrap_err().field, "visibility");
        }
    }

    #[test]
    fn an_event_ends_strictly_after_it_starts() {
        let start = at("2026-12-03T18:00:00Z");
        assert!(Schedule::new(start, at("2026-12-03T18:00:00.001Z")).is_ok());
        assert_eq!(Schedule::new(start, start).unwrap_err().field, "ends_at");
        assert_eq!(
            Schedule::new(start, at("2026-12-03T17:00:00Z"))
                .unwrap_err()
                .field,
            "ends_at"
        );
    }

    #[test]
    fn a_refused_half_update_names_the_field_that_was_sent() {
        let start_only = EventChanges {
            starts_at: Some(at("2026-12-03T18:00:00Z")),
            ..EventChanges::default()
        };
        assert_eq!(start_only.schedule_error().field, "starts_at");
        let end_only = EventChanges {
            ends_at: Some(at("2026-12-03T18:00:00Z")),
            ..EventChanges::default()
        };
        assert_eq!(end_only.schedule_error().field, "ends_at");
    }

    #[test]
    fn path_ids_that_are_not_uuids_match_nothing() {
        assert!(EventId::parse_path("nope").is_none());
        assert!(EventId::parse_path("1").is_none());
        let id = EventId::generate();
        assert_eq!(EventId::parse_path(&id.to_string()), Some(id));
    }
}
