//! Idempotency keys: how a caller says "this is the same charge as before".
//!
//! Orders retries a charge after a timeout without knowing whether the first attempt reached the
//! bank; the key lets the bank recognise the retry and answer the first outcome instead of
//! charging twice.

use super::ValidationError;

/// The header the key comes in, named in errors.
pub const HEADER: &str = "Idempotency-Key";

const MAX_CHARS: usize = 200;

/// A key of 1 to 200 visible ASCII characters (`!` to `~`), compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.is_empty() || value.len() > MAX_CHARS {
            return Err(ValidationError::new(
                HEADER,
                format!("must be 1 to {MAX_CHARS} characters long"),
            ));
        }
        if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(ValidationError::new(
                HEADER,
                "may contain only visible ASCII characters (no spaces)",
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
    fn accepts_visible_ascii_up_to_200_characters() {
        for good in ["k", "order-0193:attempt/1", &"x".repeat(200), "!~{}"] {
            assert_eq!(IdempotencyKey::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn refuses_empty_long_blank_and_non_ascii_keys() {
        for bad in [
            "",
            &"x".repeat(201),
            "with space",
            "tab\there",
            "clé",
            "\u{7f}",
        ] {
            let error = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(error.field, HEADER, "{bad:?}");
        }
    }
}
