//! Free-text search in a listing (`?q=`): one term, matched case-insensitively as a substring.
//!
//! The agenda (titles, descriptions) and the catalogue (names) search the same way; the term is
//! bounded by the longest text it can match, so a search cannot cost more than the text.

use super::ValidationError;

/// A case-insensitive substring to find, lowercased, at most as long as the searched text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    /// From `?q=`; blank means no search. Longer than `max_chars` is refused, naming `q`.
    pub fn parse(text: Option<&str>, max_chars: usize) -> Result<Option<Self>, ValidationError> {
        let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > max_chars {
            return Err(ValidationError::new(
                "q",
                format!("must be at most {max_chars} characters long"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_trimmed_lowercased_bounded_and_escaped() {
        assert_eq!(SearchTerm::parse(Some("   "), 10), Ok(None));
        let term = SearchTerm::parse(Some(" 50%_Off\\ "), 10).unwrap().unwrap();
        assert_eq!(term.like_pattern(), "%50\\%\\_off\\\\%");
        assert_eq!(SearchTerm::parse(Some("abc"), 2).unwrap_err().field, "q");
    }
}
