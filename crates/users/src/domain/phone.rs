//! Telephone numbers, as people write them.
//!
//! Numbers are kept as typed (`+33 6 12 34 56 78`, `(555) 010-9999`): the service never dials
//! them, so normalising would only lose the writer's formatting. What is checked is that the
//! value can be a number at all: the characters of phone notation, a `+` only in front, and
//! between 6 and 15 digits (15 is the E.164 maximum).

use super::ValidationError;

const MIN_DIGITS: usize = 6;
const MAX_DIGITS: usize = 15;
const MAX_CHARS: usize = 32;

/// A telephone number: digits, spaces, `-`, `.`, `(`, `)` and a leading `+`; 6 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into().trim().to_owned();
        if value.chars().count() > MAX_CHARS {
            return Err(ValidationError::new(
                "phone",
                format!("must be at most {MAX_CHARS} characters long"),
            ));
        }
        let body = value.strip_prefix('+').unwrap_or(&value);
        if let Some(bad) = body
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')))
        {
            return Err(ValidationError::new(
                "phone",
                format!(
                    "may contain only digits, spaces, '-', '.', '(', ')' and a leading '+' (found {bad:?})"
                ),
            ));
        }
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(ValidationError::new(
                "phone",
                format!("must have {MIN_DIGITS} to {MAX_DIGITS} digits"),
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_notations() {
        for good in [
            "+33 6 12 34 56 78",
            "06.12.34.56.78",
            "(555) 010-9999",
            "123456",
            "+123456789012345",
        ] {
            assert_eq!(Phone::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn refuses_letters_misplaced_plus_and_bad_digit_counts() {
        for bad in [
            "call me",
            "06 12 34 56 7a",
            "33+612345678",
            "++33612345678",
            "12345",
            "1234567890123456",
            "+",
            "",
        ] {
            assert_eq!(Phone::parse(bad).unwrap_err().field, "phone", "{bad}");
        }
    }
}
