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

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// Deep offsets are refused rather than scanned.
pub const MAX_OFFSET: i64 = 1_000_000;

/// A window over a listing: `limit` items (1–100) after skipping `offset` (0–1 000 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: i64,
    offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

fn integer_in(text: &str, min: i64, max: i64) -> Option<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|value| (min..=max).contains(value))
}

impl Page {
    /// From the raw `limit` and `offset` query parameters (absent means the default).
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, ValidationError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => integer_in(text, 1, MAX_LIMIT).ok_or_else(|| {
                ValidationError::new(
                    "limit",
                    format!("must be an integer between 1 and {MAX_LIMIT}"),
                )
            })?,
        };
        let offset = match offset {
            None => 0,
            Some(text) => integer_in(text, 0, MAX_OFFSET).ok_or_else(|| {
                ValidationError::new(
                    "offset",
                    format!("must be an integer between 0 and {MAX_OFFSET}"),
                )
            })?,
        };
        Ok(Self { limit, offset })
    }

    pub fn limit(self) -> i64 {
        self.limit
    }

    pub fn offset(self) -> i64 {
        self.offset
    }
}

/// A case-insensitive substring to find in titles and descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    /// From `?q=`; blank means no search.
    pub fn parse(text: Option<&str>) -> Result<Option<Self>, ValidationError> {
        let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > MAX_TITLE_CHARS {
            return Err(ValidationError::new(
                "q",
                format!("must be at most {MAX_TITLE_CHARS} characters long"),
            ));
        }
        Ok(Some(Self(text.to_lowercase())))
    }

    /// A `LIKE` pattern matching text that contains the term, with `\` as the escape
    /// character, so `%` and `_` in a search are taken literally.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

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
            page: Page::parse(limit, offset)?,
            from,
            to,
            search: SearchTerm::parse(q)?,
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
        let page = Page::parse(None, None).unwrap();
        assert_eq!((page.limit(), page.offset()), (20, 0));
        assert_eq!(page, Page::default());
    }

    #[test]
    fn limits_and_offsets_out_of_range_are_refused() {
        for bad in ["0", "101", "-1", "abc", "1.5", ""] {
            assert_eq!(Page::parse(Some(bad), None).unwrap_err().field, "limit");
        }
        for bad in ["-1", "x", "1000001"] {
            assert_eq!(Page::parse(None, Some(bad)).unwrap_err().field, "offset");
        }
        let page = Page::parse(Some("100"), Some("40")).unwrap();
        assert_eq!((page.limit(), page.offset()), (100, 40));
    }

    #[test]
    fn searches_are_lowercased_escaped_and_bounded() {
        assert_eq!(SearchTerm::parse(Some("   ")), Ok(None));
        let term = SearchTerm::parse(Some(" 50%_Off\\ ")).unwrap().unwrap();
        assert_eq!(term.like_pattern(), "%50\\%\\_off\\\\%");
        assert_eq!(
            SearchTerm::parse(Some(&"a".repeat(201))).unwrap_err().field,
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
