//! What a listing asks for: a time window, a text search and a page.
//!
//! Query-string values arrive as text and are parsed here, so `?limit=abc` or `?from=tomorrow`
//! is a 422 naming the parameter, never silently ignored and never a 500.
//!
//! The time window: without `from`, a listing shows what is still to come or under way (events
//! that have not ended); `from` replaces that default with "starting at or after `from`", which
//! is how past events are listed. `to` keeps events starting strictly before it. Both bound
//! `starts_at`, so `?from=2026-12-01T00:00:00Z&to=2027-01-01T00:00:00Z` is "December's events".

use super::event::MAX_TITLE_CHARS;
use super::{Timestamp, ValidationError};

use platform::domain::Paging;
pub use platform::domain::{Page, SearchTerm};

/// The agenda's paging: deep offsets are refused rather than scanned; ranges read "between 1
/// and 100", as its clients know them.
pub const PAGING: Paging = Paging {
    max_offset: Some(1_000_000),
    between: true,
    noun: "an integer",
};

/// A listing request (see the module documentation for the time window).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub page: Page,
    /// Only events starting at or after this instant; `None`: only events not yet ended.
    pub from: Option<Timestamp>,
    /// Only events starting strictly before this instant.
    pub to: Option<Timestamp>,
    pub search: Option<SearchTerm>,
}

impl EventQuery {
    /// From the raw query parameters; blank `from`, `to` and `q` count as absent.
    pub fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        q: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let instant = |text: Option<&str>, field: &str| {
            text.filter(|text| !text.trim().is_empty())
                .map(|text| Timestamp::parse(text, field))
                .transpose()
        };
        let from = instant(from, "from")?;
        let to = instant(to, "to")?;
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(ValidationError::new("to", "must be after from"));
        }
        Ok(Self {
            page: Page::parse_with(limit, offset, &PAGING)?,
            from,
            to,
            search: SearchTerm::parse(q, MAX_TITLE_CHARS)?,
        })
    }

    /// The instant listed events must end after: `now` by default, none once `from` is given.
    pub fn ends_after(&self, now: Timestamp) -> Option<Timestamp> {
        match self.from {
            Some(_) => None,
            None => Some(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: Option<&str>, to: Option<&str>) -> Result<EventQuery, ValidationError> {
        EventQuery::parse(None, None, from, to, None)
    }

    #[test]
    fn pages_default_to_twenty_from_the_start() {
        let page = Page::parse_with(None, None, &PAGING).unwrap();
        assert_eq!((page.limit(), page.offset()), (20, 0));
        assert_eq!(page, Page::default());
    }

    #[test]
    fn limits_and_offsets_out_of_range_are_refused() {
        for bad in ["0", "101", "-1", "abc", "1.5", ""] {
            assert_eq!(
                Page::parse_with(Some(bad), None, &PAGING)
                    .unwrap_err()
                    .field,
                "limit"
            );
        }
        for bad in ["-1", "x", "1000001"] {
            assert_eq!(
                Page::parse_with(None, Some(bad), &PAGING)
                    .unwrap_err()
                    .field,
                "offset"
            );
        }
        let page = Page::parse_with(Some("100"), Some("40"), &PAGING).unwrap();
        assert_eq!((page.limit(), page.offset()), (100, 40));
    }

    #[test]
    fn searches_are_lowercased_escaped_and_bounded() {
        assert_eq!(SearchTerm::parse(Some("   "), MAX_TITLE_CHARS), Ok(None));
        let term = SearchTerm::parse(Some(" 50%_Off\\ "), MAX_TITLE_CHARS)
            .unwrap()
            .unwrap();
        assert_eq!(term.like_pattern(), "%50\\%\\_off\\\\%");
        assert_eq!(
            SearchTerm::parse(Some(&"a".repeat(201)), MAX_TITLE_CHARS)
                .unwrap_err()
                .field,
            "q"
        );
    }

    #[test]
    fn bounds_must_be_rfc_3339_and_in_order() {
        assert_eq!(query(Some("monday"), None).unwrap_err().field, "from");
        assert_eq!(query(None, Some("2026-12-03")).unwrap_err().field, "to");
        let same = "2026-12-03T18:00:00Z";
        assert_eq!(query(Some(same), Some(same)).unwrap_err().field, "to");
        assert!(query(Some(same), Some("2026-12-03T18:00:01Z")).is_ok());
        assert_eq!(query(Some(" "), Some("")).unwrap(), EventQuery::default());
    }

    #[test]
    fn only_events_not_yet_ended_unless_from_is_given() {
        let now = Timestamp::now();
        assert_eq!(query(None, None).unwrap().ends_after(now), Some(now));
        assert_eq!(
            query(None, Some("2099-01-01T00:00:00Z"))
                .unwrap()
                .ends_after(now),
            Some(now)
        );
        assert_eq!(
            query(Some("2000-01-01T00:00:00Z"), None)
                .unwrap()
                .ends_after(now),
            None
        );
    }
}
