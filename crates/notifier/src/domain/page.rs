//! Which slice of a list the client asked for (`?limit=&offset=`).

use super::ValidationError;

/// A page of a list: at most `limit` items after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: u32,
    offset: u32,
}

impl Page {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;
    /// Deep offsets are refused rather than scanned: nobody pages a million notifications.
    pub const MAX_OFFSET: u32 = 1_000_000;

    /// Parses the raw query values; absent values take the defaults (20, 0).
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, ValidationError> {
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(text) => parse_in_range(text, 1, Self::MAX_LIMIT).ok_or_else(|| {
                ValidationError::new(
                    "limit",
                    format!("must be an integer from 1 to {}", Self::MAX_LIMIT),
                )
            })?,
        };
        let offset = match offset {
            None => 0,
            Some(text) => parse_in_range(text, 0, Self::MAX_OFFSET).ok_or_else(|| {
                ValidationError::new(
                    "offset",
                    format!("must be an integer from 0 to {}", Self::MAX_OFFSET),
                )
            })?,
        };
        Ok(Self { limit, offset })
    }

    pub fn limit(self) -> u32 {
        self.limit
    }

    pub fn offset(self) -> u32 {
        self.offset
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

fn parse_in_range(text: &str, min: u32, max: u32) -> Option<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|value| (min..=max).contains(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_values_take_the_defaults() {
        assert_eq!(Page::parse(None, None).unwrap(), Page::default());
        assert_eq!(Page::default().limit(), 20);
        assert_eq!(Page::default().offset(), 0);
    }

    #[test]
    fn values_in_range_are_kept() {
        let page = Page::parse(Some("100"), Some("40")).unwrap();
        assert_eq!((page.limit(), page.offset()), (100, 40));
    }

    #[test]
    fn out_of_range_or_non_integer_values_name_their_field() {
        for bad in ["0", "101", "-1", "1.5", "ten", ""] {
            assert_eq!(Page::parse(Some(bad), None).unwrap_err().field, "limit");
        }
        for bad in ["-1", "x", "1000001"] {
            assert_eq!(Page::parse(None, Some(bad)).unwrap_err().field, "offset");
        }
    }
}
