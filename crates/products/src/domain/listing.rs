//! What a catalogue listing asks for: a page (`limit`, `offset`), an optional name search and
//! an optional category.
//!
//! Query-string values arrive as text; they are parsed here so that `?limit=abc` or
//! `?limit=1000` is a 422 naming `limit`, never silently clamped and never a 500.

use super::product::MAX_NAME_CHARS;
use super::{Category, ValidationError};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// A window over a listing: `limit` items (1–100) after skipping `offset`.
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

impl Page {
    /// From the raw `limit` and `offset` query parameters (absent means the default).
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, ValidationError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| {
                    ValidationError::new(
                        "limit",
                        format!("must be an integer between 1 and {MAX_LIMIT}"),
                    )
                })?,
        };
        let offset = match offset {
            None => 0,
            Some(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|offset| *offset >= 0)
                .ok_or_else(|| {
                    ValidationError::new("offset", "must be an integer of at least 0")
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

/// A case-insensitive substring to find in product names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    /// From `?q=`; blank means no search.
    pub fn parse(text: Option<&str>) -> Result<Option<Self>, ValidationError> {
        let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > MAX_NAME_CHARS {
            return Err(ValidationError::new(
                "q",
                format!("must be at most {MAX_NAME_CHARS} characters long"),
            ));
        }
        Ok(Some(Self(text.to_lowercase())))
    }

    /// A `LIKE` pattern matching names that contain the term, with `\` as the escape
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

/// A listing request: which page, which names, which category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductQuery {
    pub page: Page,
    pub search: Option<SearchTerm>,
    pub category: Option<Category>,
}

impl ProductQuery {
    /// `?category=`: blank means every category.
    pub fn parse_category(text: Option<&str>) -> Result<Option<Category>, ValidationError> {
        text.filter(|text| !text.trim().is_empty())
            .map(Category::parse)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_default_to_twenty_from_the_start() {
        let page = Page::parse(None, None).unwrap();
        assert_eq!((page.limit(), page.offset()), (20, 0));
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        for bad in ["0", "101", "-1", "abc", "1.5", ""] {
            assert_eq!(Page::parse(Some(bad), None).unwrap_err().field, "limit");
        }
        assert_eq!(Page::parse(Some("100"), None).unwrap().limit(), 100);
    }

    #[test]
    fn negative_offsets_are_refused() {
        assert_eq!(Page::parse(None, Some("-1")).unwrap_err().field, "offset");
        assert_eq!(Page::parse(None, Some("x")).unwrap_err().field, "offset");
        assert_eq!(Page::parse(None, Some("40")).unwrap().offset(), 40);
    }

    #[test]
    fn a_blank_category_lists_every_category_and_a_bad_one_is_refused() {
        assert_eq!(ProductQuery::parse_category(None), Ok(None));
        assert_eq!(ProductQuery::parse_category(Some(" ")), Ok(None));
        assert_eq!(
            ProductQuery::parse_category(Some("Audio")).unwrap(),
            Some(Category::parse("audio").unwrap())
        );
        assert_eq!(
            ProductQuery::parse_category(Some("a b")).unwrap_err().field,
            "category"
        );
    }

    #[test]
    fn searches_are_lowercased_and_escaped() {
        assert_eq!(SearchTerm::parse(Some("   ")), Ok(None));
        let term = SearchTerm::parse(Some(" 50%_Off\\ ")).unwrap().unwrap();
        assert_eq!(term.like_pattern(), "%50\\%\\_off\\\\%");
        assert!(SearchTerm::parse(Some(&"a".repeat(201))).is_err());
    }
}
