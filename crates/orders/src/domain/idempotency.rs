//! `Idempotency-Key` values: what makes a retried `POST /orders` safe.

use super::ValidationError;

const MAX_CHARS: usize = 255;

/// A client-chosen key, 1 to 255 visible ASCII characters (as the IETF
/// `Idempotency-Key` draft and the usual UUIDs allow), scoped to the user who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let field = "Idempotency-Key";
        if value.is_empty() || value.len() > MAX_CHARS {
            return Err(ValidationError::new(
                field,
                format!("must be 1 to {MAX_CHARS} characters long"),
            ));
        }
        if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(ValidationError::new(
                field,
                "may contain only visible ASCII characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuids_and_tokens() {
        assert!(IdempotencyKey::parse("0193a4c2-7f7e-7c3a-9d8e-1f2a3b4c5d6e").is_ok());
        assert!(IdempotencyKey::parse("order-42:retry").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn refuses_empty_long_and_invisible_keys() {
        for bad in ["", "with space", "tab\there", "é"] {
            let error = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(error.field, "Idempotency-Key", "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
