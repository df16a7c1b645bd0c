//! Which slice of a list to answer: `?limit=&offset=`, the same in every listing.
//!
//! Every service pages the same way (1 to 100 items, 20 by default, from an offset); what
//! differs is whether very deep offsets are refused and the words of the error message, which
//! each service keeps as its clients already see them ([`Paging`]).

use super::ValidationError;

/// How one service pages: the bounds beyond the common ones, and its messages' wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// The largest offset accepted; `None`: any offset of at least 0.
    pub max_offset: Option<i64>,
    /// Ranges read "between 1 and 100" instead of "from 1 to 100".
    pub between: bool,
    /// What a value must be: "an integer", "a whole number".
    pub noun: &'static str,
}

impl Paging {
    /// Any offset; "must be an integer from 1 to 100".
    pub const STANDARD: Self = Self {
        max_offset: None,
        between: false,
        noun: "an integer",
    };

    fn range(&self, min: i64, max: i64) -> String {
        if self.between {
            format!("between {min} and {max}")
        } else {
            format!("from {min} to {max}")
        }
    }

    /// Why `limit` was refused.
    pub fn limit_message(&self) -> String {
        format!("must be {} {}", self.noun, self.range(1, Page::MAX_LIMIT))
    }

    /// Why `offset` was refused.
    pub fn offset_message(&self) -> String {
        match self.max_offset {
            None => format!("must be {} of at least 0", self.noun),
            Some(max) => format!("must be {} {}", self.noun, self.range(0, max)),
        }
    }

    /// A `limit` value, or why it is refused.
    pub fn limit(&self, text: &str) -> Result<i64, String> {
        integer_in(text, 1, Page::MAX_LIMIT).ok_or_else(|| self.limit_message())
    }

    /// An `offset` value, or why it is refused.
    pub fn offset(&self, text: &str) -> Result<i64, String> {
        integer_in(text, 0, self.max_offset.unwrap_or(i64::MAX))
            .ok_or_else(|| self.offset_message())
    }
}

fn integer_in(text: &str, min: i64, max: i64) -> Option<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|value| (min..=max).contains(value))
}

/// `limit` (1–100, default 20) and `offset` (≥ 0, default 0), from the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: i64,
    offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl Page {
    /// Items per page unless the client asks otherwise.
    pub const DEFAULT_LIMIT: i64 = 20;
    /// The most items one page may hold.
    pub const MAX_LIMIT: i64 = 100;

    /// Parses the raw query values with [`Paging::STANDARD`]; absent means the default.
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, ValidationError> {
        Self::parse_with(limit, offset, &Paging::STANDARD)
    }

    /// Parses the raw query values by `paging`'s rules; absent means the default.
    pub fn parse_with(
        limit: Option<&str>,
        offset: Option<&str>,
        paging: &Paging,
    ) -> Result<Self, ValidationError> {
        let mut page = Self::default();
        if let Some(text) = limit {
            page.limit = paging
                .limit(text)
                .map_err(|message| ValidationError::new("limit", message))?;
        }
        if let Some(text) = offset {
            page.offset = paging
                .offset(text)
                .map_err(|message| ValidationError::new("offset", message))?;
        }
        Ok(page)
    }

    /// A page from values already checked by [`Paging::limit`] and [`Paging::offset`] (a
    /// service that parses its query string itself).
    pub fn new(limit: i64, offset: i64) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            offset: offset.max(0),
        }
    }

    pub fn limit(self) -> i64 {
        self.limit
    }

    pub fn offset(self) -> i64 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_absent() {
        assert_eq!(Page::parse(None, None).unwrap(), Page::default());
        assert_eq!((Page::default().limit(), Page::default().offset()), (20, 0));
    }

    #[test]
    fn bounds_are_enforced_naming_the_parameter() {
        assert_eq!(Page::parse(Some("1"), Some("0")).unwrap().limit(), 1);
        assert_eq!(Page::parse(Some("100"), None).unwrap().limit(), 100);
        for bad in ["0", "101", "-1", "x", "1.5", ""] {
            assert_eq!(Page::parse(Some(bad), None).unwrap_err().field, "limit");
        }
        for bad in ["-1", "x", "2.0"] {
            assert_eq!(Page::parse(None, Some(bad)).unwrap_err().field, "offset");
        }
    }

    #[test]
    fn each_service_keeps_its_wording_and_offset_bound() {
        let agenda = Paging {
            max_offset: Some(1_000_000),
            between: true,
            noun: "an integer",
        };
        let error = Page::parse_with(Some("0"), None, &agenda).unwrap_err();
        assert_eq!(error.message, "must be an integer between 1 and 100");
        let error = Page::parse_with(None, Some("1000001"), &agenda).unwrap_err();
        assert_eq!(error.message, "must be an integer between 0 and 1000000");
        let error = Page::parse(Some("0"), Some("0")).unwrap_err();
        assert_eq!(error.message, "must be an integer from 1 to 100");
        let error = Page::parse(None, Some("-1")).unwrap_err();
        assert_eq!(error.message, "must be an integer of at least 0");
    }
}
