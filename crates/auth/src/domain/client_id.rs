//! `ClientId`: the OAuth 2.0 client a token is issued to (RFC 6749 §2.2, RFC 9068 `client_id`).
//!
//! Clients are public (no secret, token endpoint authentication `none`) and not registered: the
//! id only names the application, so it shows in every token it obtained and in logs. It is
//! bounded and kept to URL-safe characters so it can be written anywhere without escaping.

use super::ValidationError;

/// Longest client id accepted.
const MAX_CHARS: usize = 64;

/// A client id that is 1 to 64 characters of `[A-Za-z0-9._~-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let valid = !text.is_empty()
            && text.len() <= MAX_CHARS
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"._~-".contains(&byte));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::new(
                "client_id",
                "must be 1 to 64 characters of letters, digits, '.', '_', '~' and '-'",
            ))
        }
    }

    /// The id given to a client that did not name itself: the web front-end, the JSON login.
    pub fn default_client() -> Self {
        Self(platform::auth::DEFAULT_CLIENT_ID.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_short_and_url_safe() {
        assert_eq!(
            ClientId::parse("my-app_2.0~x").unwrap().as_str(),
            "my-app_2.0~x"
        );
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("é").is_err());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert_eq!(ClientId::default_client().as_str(), "microshop-web");
    }
}
