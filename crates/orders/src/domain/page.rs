//! Which slice of a list to answer.

use super::ValidationError;

/// Orders per page unless the client asks otherwise.
pub const DEFAULT_LIMIT: i64 = 20;
/// The most orders one page may hold.
pub const MAX_LIMIT: i64 = 100;

/// `limit` (1–100, default 20) and `offset` (≥ 0, default 0), from the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: i64,
    offset: i64,
}

impl Page {
    /// Parses the raw query values; absent means the default.
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, ValidationError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(value) if (1..=MAX_LIMIT).contains(&value) => value,
                _ => {
                    return Err(ValidationError::new(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let offset = match offset {
            None => 0,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(value) if value >= 0 => value,
                _ => {
                    return Err(ValidationError::new(
                        "offset",
                        "must be an integer of at least 0",
                    ));
                }
            },
        };
        Ok(Self { limit, offset })
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }

    pub fn offset(&self) -> i64 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_absent() {
        let page = Page::parse(None, None).unwrap();
        assert_eq!((page.limit(), page.offset()), (20, 0));
    }

    #[test]
    fn bounds_are_enforced_naming_the_parameter() {
        assert_eq!(Page::parse(Some("0"), None).unwrap_err().field, "limit");
        assert_eq!(Page::parse(Some("101"), None).unwrap_err().field, "limit");
        assert_eq!(Page::parse(Some("ten"), None).unwrap_err().field, "limit");
        assert_eq!(Page::parse(None, Some("-1")).unwrap_err().field, "offset");
        let page = Page::parse(Some("100"), Some("7")).unwrap();
        assert_eq!((page.limit(), page.offset()), (100, 7));
    }
}
