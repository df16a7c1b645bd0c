//! Personal details: names and postal addresses (free text, bounded, without control
//! characters), an e-mail address, and the set of them a user gives at registration.
//!
//! Auth parses them at registration and carries them in `user.registered`; users keeps them on
//! the profile. One set of rules, so what auth accepted always fits a profile; the limits are
//! generous but bounded so no field can be used to store megabytes.

use super::{Email, ValidationError};

const MAX_NAME_CHARS: usize = 100;
const MAX_ADDRESS_CHARS: usize = 500;

fn check_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
    allow_newlines: bool,
) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
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
        check_text("address", &value, MAX_ADDRESS_CHARS, true)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Address {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Optional free-text inputs: absent, `null`, empty and blank all mean "not given", the way a
/// web form sends an untouched field.
pub fn given(value: Option<String>) -> Option<String> {
    value.and_then(|text| {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    })
}

/// The optional details a user may give at registration, and every profile holds: each one
/// absent or valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalDetails {
    pub email: Option<Email>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub address: Option<Address>,
}

impl PersonalDetails {
    /// Parses the raw optional fields; blank ones count as absent ([`given`]).
    pub fn parse(
        email: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        address: Option<String>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            email: given(email).map(Email::parse).transpose()?,
            first_name: given(first_name)
                .map(|name| PersonName::parse("first_name", name))
                .transpose()?,
            last_name: given(last_name)
                .map(|name| PersonName::parse("last_name", name))
                .transpose()?,
            address: given(address).map(Address::parse).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("first_name", "  Zoé ").unwrap().as_str(),
            "Zoé"
        );
        assert!(PersonName::parse("first_name", "é".repeat(100)).is_ok());
        let error = PersonName::parse("last_name", "x".repeat(101)).unwrap_err();
        assert_eq!(error.field, "last_name");
        assert!(PersonName::parse("first_name", "a\u{0}b").is_err());
        assert!(PersonName::parse("first_name", "a\nb").is_err());
        assert!(PersonName::parse("first_name", "   ").is_err());
    }

    #[test]
    fn addresses_may_span_lines() {
        assert!(Address::parse("1 rue de la Paix\n75002 Paris").is_ok());
        assert!(Address::parse("x".repeat(500)).is_ok());
        assert_eq!(
            Address::parse("x".repeat(501)).unwrap_err().field,
            "address"
        );
        assert!(Address::parse("a\tb").is_err());
    }

    #[test]
    fn blank_optional_details_are_absent() {
        let details =
            PersonalDetails::parse(Some("  ".into()), Some(String::new()), None, None).unwrap();
        assert_eq!(details, PersonalDetails::default());
    }

    #[test]
    fn a_bad_optional_detail_is_named() {
        let error = PersonalDetails::parse(Some("nope".into()), None, None, None).unwrap_err();
        assert_eq!(error.field, "email");
    }
}
