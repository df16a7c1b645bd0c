//! `Idempotency-Key` values: what makes a retried request safe.
//!
//! A client retries `POST /orders` after a timeout, and orders retries a charge at the bank,
//! without knowing whether the first attempt arrived; the key lets the receiver recognise the
//! retry and answer the first outcome instead of acting twice. Orders and payments accept keys
//! of the same alphabet; their length bounds and messages are each service's ([`KeyRules`]).

use super::ValidationError;

/// One service's bounds on its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRules {
    /// The longest key accepted, in characters (all ASCII, so bytes).
    pub max_chars: usize,
    /// Why a key with a space, control or non-ASCII character is refused.
    pub charset_message: &'static str,
}

/// A key of 1 to [`KeyRules::max_chars`] visible ASCII characters (`!` to `~`, as the IETF
/// `Idempotency-Key` draft and the usual UUIDs allow), compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The header the key comes in, named in errors.
    pub const HEADER: &'static str = "Idempotency-Key";

    pub fn parse(value: &str, rules: &KeyRules) -> Result<Self, ValidationError> {
        if value.is_empty() || value.len() > rules.max_chars {
            return Err(ValidationError::new(
                Self::HEADER,
                format!("must be 1 to {} characters long", rules.max_chars),
            ));
        }
        if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(ValidationError::new(Self::HEADER, rules.charset_message));
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

    const RULES: KeyRules = KeyRules {
        max_chars: 255,
        charset_message: "may contain only visible ASCII characters",
    };

    #[test]
    fn accepts_uuids_and_tokens() {
        assert!(IdempotencyKey::parse("0193a4c2-7f7e-7c3a-9d8e-1f2a3b4c5d6e", &RULES).is_ok());
        assert!(IdempotencyKey::parse("order-42:retry", &RULES).is_ok());
        assert!(IdempotencyKey::parse("!~{}", &RULES).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255), &RULES).is_ok());
    }

    #[test]
    fn refuses_empty_long_and_invisible_keys() {
        for bad in [
            "",
            "with space",
            "tab\there",
            "é",
            "\u{7f}",
            &"k".repeat(256),
        ] {
            let error = IdempotencyKey::parse(bad, &RULES).unwrap_err();
            assert_eq!(error.field, IdempotencyKey::HEADER, "{bad:?}");
        }
    }
}
