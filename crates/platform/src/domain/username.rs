//! Usernames: what a person types to log in, and the name shown in tokens.
//!
//! Auth owns usernames (it checks uniqueness and logs people in with them); users keeps a copy
//! on each profile for display. One type for both, so a username auth issued always parses as
//! a profile's.

use super::ValidationError;

const MIN_CHARS: usize = 3;
const MAX_CHARS: usize = 32;

/// A username of 3 to 32 characters from `[A-Za-z0-9_.-]`.
///
/// Usernames keep the case they were registered with for display, but two usernames that differ
/// only in case are the same account: [`Username::key`] is the form uniqueness and lookups use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        let length = value.chars().count();
        if !(MIN_CHARS..=MAX_CHARS).contains(&length) {
            return Err(ValidationError::new(
                "username",
                format!("must be {MIN_CHARS} to {MAX_CHARS} characters long"),
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(ValidationError::new(
                "username",
                format!("may contain only letters A-Z, digits, '_', '.' and '-' (found {bad:?})"),
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive identity of this username (ASCII only, so lowercasing is exact).
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        assert!(Username::parse("Alice_B.c-9").is_ok());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse("a".repeat(32)).is_ok());
    }

    #[test]
    fn refuses_bad_lengths_and_characters() {
        for bad in [
            "ab",
            "",
            &"a".repeat(33),
            "with space",
            "émile",
            "a/b",
            "a@b",
        ] {
            let error = Username::parse(bad).unwrap_err();
            assert_eq!(error.field, "username", "{bad}");
        }
    }

    #[test]
    fn the_key_ignores_case() {
        assert_eq!(
            Username::parse("Alice").unwrap().key(),
            Username::parse("aLICE").unwrap().key()
        );
    }
}
