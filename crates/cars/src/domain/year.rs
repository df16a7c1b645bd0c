//! Model years: from the first car ever sold to next year's models.
//!
//! Benz's Patent-Motorwagen of 1886 is the first car, so nothing older exists. The upper bound
//! moves with the calendar: manufacturers sell next year's model from this year's autumn, so
//! the current year plus one is accepted and anything later is a typo.

use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::InvalidValue;

/// The year of the first car (Benz Patent-Motorwagen).
pub const FIRST_YEAR: i64 = 1886;

/// A model year from [`FIRST_YEAR`] to next year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Year(i64);

impl Year {
    /// Checks `value` against today's calendar (UTC).
    pub fn parse(value: i64) -> Result<Self, InvalidValue> {
        Self::parse_at(value, Self::current())
    }

    /// Checks `value` as if the current year were `current_year`.
    pub fn parse_at(value: i64, current_year: i64) -> Result<Self, InvalidValue> {
        let latest = current_year + 1;
        if (FIRST_YEAR..=latest).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidValue::new(format!(
                "must be a year from {FIRST_YEAR} to {latest}"
            )))
        }
    }

    /// Parses a query-string value such as `2020`.
    pub fn parse_text(text: &str) -> Result<Self, InvalidValue> {
        let value = text
            .trim()
            .parse::<i64>()
            .map_err(|_| InvalidValue::new("must be a whole number, such as 2020"))?;
        Self::parse(value)
    }

    /// The latest year accepted today.
    pub fn latest() -> i64 {
        Self::current() + 1
    }

    fn current() -> i64 {
        i64::from(time::OffsetDateTime::now_utc().year())
    }

    pub fn value(self) -> i64 {
        self.0
    }
}

/// From a JSON integer; anything else (a string, a fraction) is refused with a message a client
/// can act on rather than serde's "expected i64".
impl<'de> Deserialize<'de> for Year {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct YearVisitor;

        impl Visitor<'_> for YearVisitor {
            type Value = Year;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(formatter, "a year as a whole number, such as 2020")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Year, E> {
                Year::parse(value).map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Year, E> {
                let value = i64::try_from(value).unwrap_or(i64::MAX);
                Year::parse(value).map_err(E::custom)
            }
        }

        deserializer.deserialize_i64(YearVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_runs_from_1886_to_next_year() {
        assert_eq!(Year::parse_at(1886, 2025).unwrap().value(), 1886);
        assert_eq!(Year::parse_at(2026, 2025).unwrap().value(), 2026);
        assert!(Year::parse_at(1885, 2025).is_err());
        assert!(Year::parse_at(2027, 2025).is_err());
        assert!(Year::parse_at(-2020, 2025).is_err());
    }

    #[test]
    fn the_upper_bound_follows_the_calendar() {
        let latest = Year::latest();
        assert!(Year::parse(latest).is_ok());
        assert!(Year::parse(latest + 1).is_err());
    }

    #[test]
    fn only_json_integers_deserialize() {
        assert_eq!(serde_json::from_str::<Year>("2020").unwrap().value(), 2020);
        for bad in [
            "\"2020\"",
            "2020.5",
            "2020.0",
            "null",
            "1e3",
            "18446744073709551615",
        ] {
            assert!(serde_json::from_str::<Year>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_text_is_parsed_and_checked() {
        assert_eq!(Year::parse_text(" 1999 ").unwrap().value(), 1999);
        assert!(Year::parse_text("nineteen").is_err());
        assert!(Year::parse_text("1800").is_err());
    }
}
