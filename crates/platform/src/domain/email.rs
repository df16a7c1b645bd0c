//! E-mail addresses, checked for shape only: deliverability is the mail server's business.
//!
//! Shared by auth (registration) and users (profiles), so every address auth accepted at
//! registration is accepted as a profile's too.

use super::ValidationError;

const MAX_CHARS: usize = 254;
const MAX_LOCAL_CHARS: usize = 64;

/// An address shaped like `local@domain.tld`: one `@`, a non-empty local part, a domain of
/// dot-separated labels, no whitespace or control characters, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        let invalid = || {
            ValidationError::new(
                "email",
                "must be an e-mail address such as name@example.com",
            )
        };
        if value.chars().count() > MAX_CHARS {
            return Err(ValidationError::new(
                "email",
                format!("must be at most {MAX_CHARS} characters long"),
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.chars().count() > MAX_LOCAL_CHARS || domain.contains('@') {
            return Err(invalid());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for good in [
            "a@b.co",
            "first.last+tag@mail.example.org",
            "élodie@exemple.fr",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn refuses_what_is_not_shaped_like_an_address() {
        for bad in [
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a@b@c.com",
            "a b@c.com",
            "a@-b.com",
            "a@b..com",
            "a@b.com.",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(long).is_err());
    }
}
