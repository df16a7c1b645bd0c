//! The optional personal details a user may give at registration.
//!
//! Auth keeps them only so the `user.registered` event can carry them to the users service,
//! which owns profiles; the limits are generous but bounded so no field can be used to store
//! megabytes.

use super::ValidationError;

const MAX_NAME_CHARS: usize = 100;
const MAX_ADDRESS_CHARS: usize = 500;

fn check_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
    allow_newlines: bool,
) -> Result<(), ValidationError> {
    if value.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters long"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r')))
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A first or last name: 1 to 100 characters, trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// `field` is the input it came from (`first_name` or `last_name`), for the error.
    pub fn parse(field: &'static str, value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into().trim().to_owned();
        if value.is_empty() {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        check_text(field, &value, MAX_NAME_CHARS, false)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal address: 1 to 500 characters, trimmed; line breaks allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(String);

impl Address {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into().trim().to_owned();
        if value.is_empty() {
            return Err(ValidationError::new("address", "must not be empty"));
        }
        check_text("address", &value, MAX_ADDRESS_CHARS, true)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("first_name", "  Ada ").unwrap().as_str(),
            "Ada"
        );
        let error = PersonName::parse("last_name", "x".repeat(101)).unwrap_err();
        assert_eq!(error.field, "last_name");
        assert!(PersonName::parse("first_name", "a\u{0}b").is_err());
    }

    #[test]
    fn addresses_may_span_lines() {
        assert!(Address::parse("1 rue de la Paix\n75002 Paris").is_ok());
        assert!(Address::parse("x".repeat(501)).is_err());
    }
}
