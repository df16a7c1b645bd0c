//! What a catalogue listing asks for: a page (`limit`, `offset`), an optional name search and
//! an optional category.
//!
//! Query-string values arrive as text; they are parsed here so that `?limit=abc` or
//! `?limit=1000` is a 422 naming `limit`, never silently clamped and never a 500.

use platform::domain::Paging;
pub use platform::domain::{Page, SearchTerm};

use super::{Category, ValidationError};

/// The catalogue's paging: any offset; ranges read "between 1 and 100", as its clients know
/// them.
pub const PAGING: Paging = Paging {
    max_offset: None,
    between: true,
    noun: "an integer",
};

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
    use crate::domain::MAX_NAME_CHARS;

    #[test]
    fn pages_default_to_twenty_from_the_start() {
        let page = Page::parse_with(None, None, &PAGING).unwrap();
        assert_eq!((page.limit(), page.offset()), (20, 0));
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        for bad in ["0", "101", "-1", "abc", "1.5", ""] {
            assert_eq!(
                Page::parse_with(Some(bad), None, &PAGING)
                    .unwrap_err()
                    .field,
                "limit"
            );
        }
        assert_eq!(
            Page::parse_with(Some("100"), None, &PAGING)
                .unwrap()
                .limit(),
            100
        );
    }

    #[test]
    fn negative_offsets_are_refused() {
        assert_eq!(
            Page::parse_with(None, Some("-1"), &PAGING)
                .unwrap_err()
                .field,
            "offset"
        );
        assert_eq!(
            Page::parse_with(None, Some("x"), &PAGING)
                .unwrap_err()
                .field,
            "offset"
        );
        assert_eq!(
            Page::parse_with(None, Some("40"), &PAGING)
                .unwrap()
                .offset(),
            40
        );
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
        assert_eq!(SearchTerm::parse(Some("   "), MAX_NAME_CHARS), Ok(None));
        let term = SearchTerm::parse(Some(" 50%_Off\\ "), MAX_NAME_CHARS)
            .unwrap()
            .unwrap();
        assert_eq!(term.like_pattern(), "%50\\%\\_off\\\\%");
        assert!(SearchTerm::parse(Some(&"a".repeat(201)), MAX_NAME_CHARS).is_err());
    }
}
