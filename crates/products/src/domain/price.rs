//! Prices: integer cents, parsed either from `price_cents` or from the seeds' decimal `prix`.
//!
//! A decimal price is read from the JSON number's text, never through a float: `0.29` as an f64
//! is 0.28999…, and money must not depend on rounding. The text is split into digits and a
//! decimal exponent, so `12.5`, `12.50` and `1.25e1` are all exactly 1250 cents, while `12.345`
//! is refused because it cannot be paid.

use super::ValidationError;

/// The most a product may cost: what the bank can charge at most (one million in the
/// currency's main unit).
pub const MAX_PRICE_CENTS: i64 = platform::money::MAX_AMOUNT_CENTS;

/// A price in cents, from 0 (a free item) to [`MAX_PRICE_CENTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PriceCents(i64);

impl PriceCents {
    /// A price given in cents (`price_cents`).
    pub fn from_cents(cents: i64) -> Result<Self, ValidationError> {
        Self::checked(cents).map_err(|message| ValidationError::new("price_cents", message))
    }

    /// A price given as the raw JSON text of a decimal number (`prix`): `12.5`, `12.50`, `3`.
    ///
    /// `field` names the input in errors. Strings, negative numbers, more than two decimals and
    /// values over the maximum are refused.
    pub fn from_decimal_json(raw: &str, field: &str) -> Result<Self, ValidationError> {
        let error = |message: String| ValidationError::new(field, message);
        let text = raw.trim();
        if text.starts_with('"') {
            return Err(error(
                "must be a JSON number such as 12.50, not a string".to_owned(),
            ));
        }
        let cents = decimal_to_cents(text).map_err(error)?;
        Self::checked(cents).map_err(error)
    }

    fn checked(cents: i64) -> Result<Self, String> {
        if cents < 0 {
            Err("must not be negative".to_owned())
        } else if cents > MAX_PRICE_CENTS {
            Err(format!(
                "must be at most {} (in cents: {MAX_PRICE_CENTS})",
                format_cents(MAX_PRICE_CENTS)
            ))
        } else {
            Ok(Self(cents))
        }
    }

    pub fn cents(self) -> i64 {
        self.0
    }
}

/// `1250` → `"12.50"`, for messages.
fn format_cents(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Exactly converts a JSON number's text into cents; `Err` says why it cannot be a price.
///
/// Values far beyond any price come back as `i64::MAX` so the range check refuses them with the
/// usual message.
fn decimal_to_cents(text: &str) -> Result<i64, String> {
    const NOT_A_NUMBER: &str = "must be a number such as 12.50";
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(index) => (&unsigned[..index], Some(&unsigned[index + 1..])),
        None => (unsigned, None),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if integer.is_empty() || !all_digits(integer) || !all_digits(fraction) {
        return Err(NOT_A_NUMBER.to_owned());
    }
    if mantissa.contains('.') && fraction.is_empty() {
        return Err(NOT_A_NUMBER.to_owned());
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(exponent) => {
            let digits = exponent.trim_start_matches(['+', '-']);
            if digits.is_empty() || !all_digits(digits) || exponent.len() - digits.len() > 1 {
                return Err(NOT_A_NUMBER.to_owned());
            }
            // An exponent too long for i64 is as good as infinite either way.
            let magnitude = digits
                .parse::<i64>()
                .unwrap_or(i64::MAX / 4)
                .min(i64::MAX / 4);
            if exponent.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };

    // value = digits × 10^(-scale)
    let mut digits = format!("{integer}{fraction}");
    let fraction_len = i64::try_from(fraction.len()).unwrap_or(i64::MAX / 4);
    let mut scale = fraction_len - exponent;
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err("must not be negative".to_owned());
    }
    if scale > 2 {
        return Err("must have at most 2 decimals".to_owned());
    }
    let shift = 2 - scale;
    // Nine digits of cents cover every allowed price; anything longer is out of range.
    if i64::try_from(digits.len())
        .unwrap_or(i64::MAX)
        .saturating_add(shift)
        > 12
    {
        return Ok(i64::MAX);
    }
    let shift = u32::try_from(shift).unwrap_or(u32::MAX);
    let cents = digits
        .parse::<i64>()
        .ok()
        .and_then(|value| value.checked_mul(10_i64.checked_pow(shift)?))
        .unwrap_or(i64::MAX);
    Ok(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(text: &str) -> Result<i64, ValidationError> {
        PriceCents::from_decimal_json(text, "prix").map(PriceCents::cents)
    }

    #[test]
    fn decimals_convert_exactly() {
        assert_eq!(cents("12.5"), Ok(1250));
        assert_eq!(cents("12.50"), Ok(1250));
        assert_eq!(cents("0.29"), Ok(29));
        assert_eq!(cents("0.1"), Ok(10));
        assert_eq!(cents("19.99"), Ok(1999));
        assert_eq!(cents("3"), Ok(300));
        assert_eq!(cents("0"), Ok(0));
        assert_eq!(cents("-0"), Ok(0));
        assert_eq!(cents("1200"), Ok(120_000));
        assert_eq!(cents("1000000"), Ok(MAX_PRICE_CENTS));
        assert_eq!(cents("1000000.00"), Ok(MAX_PRICE_CENTS));
    }

    #[test]
    fn trailing_zeros_and_exponents_are_just_notation() {
        assert_eq!(cents("12.500"), Ok(1250));
        assert_eq!(cents("1.25e1"), Ok(1250));
        assert_eq!(cents("1250E-2"), Ok(1250));
        assert_eq!(cents("1e2"), Ok(10_000));
        assert_eq!(cents("0e-999999999999999999999"), Ok(0));
    }

    #[test]
    fn more_than_two_decimals_are_refused() {
        for text in ["12.345", "0.001", "1e-3", "12.3451"] {
            let error = cents(text).unwrap_err();
            assert_eq!(error.field, "prix");
            assert!(error.message.contains("2 decimals"), "{text}: {error}");
        }
    }

    #[test]
    fn negative_prices_are_refused() {
        for text in ["-1", "-0.01", "-12.5"] {
            assert!(
                cents(text).unwrap_err().message.contains("negative"),
                "{text}"
            );
        }
    }

    #[test]
    fn out_of_range_prices_are_refused() {
        for text in [
            "1000000.01",
            "99999999999999999999999",
            "1e400",
            "1e999999999999999999999",
        ] {
            assert!(
                cents(text).unwrap_err().message.contains("at most"),
                "{text}"
            );
        }
    }

    #[test]
    fn strings_and_other_values_are_refused() {
        assert!(cents("\"12.50\"").unwrap_err().message.contains("string"));
        for text in ["true", "null", "{}", "[]", "1.", ".5", "1e", "1e+-2"] {
            assert!(cents(text).is_err(), "{text}");
        }
    }

    #[test]
    fn price_cents_are_range_checked() {
        assert_eq!(PriceCents::from_cents(0).map(PriceCents::cents), Ok(0));
        assert!(PriceCents::from_cents(MAX_PRICE_CENTS).is_ok());
        let error = PriceCents::from_cents(MAX_PRICE_CENTS + 1).unwrap_err();
        assert_eq!(error.field, "price_cents");
        assert!(PriceCents::from_cents(-1).is_err());
    }
}
