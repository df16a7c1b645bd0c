//! A point in time as the agenda keeps it: UTC, to the millisecond.
//!
//! The API speaks RFC 3339 (`2026-12-03T18:00:00Z`, any offset accepted on input, always UTC
//! on output); the database stores unix milliseconds. Parsing happens once, here, so a date
//! without a time, a time without an offset or plain nonsense is a 422 naming its field, and
//! everything past the edge compares plain integers.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ValidationError;

/// A UTC instant with millisecond precision (finer digits are dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From RFC 3339 text; `field` names the input for the error.
    pub fn parse(text: &str, field: &str) -> Result<Self, ValidationError> {
        let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
            ValidationError::new(
                field,
                "must be an RFC 3339 date and time with an offset, such as 2026-12-03T18:00:00Z",
            )
        })?;
        Ok(Self::from_datetime(parsed))
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
        // RFC 3339 years stop at 9999, far inside i64 milliseconds.
        Self(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    /// The current instant.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// As stored: unix milliseconds.
    pub fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// As the API shows it (in UTC).
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_converted_to_utc() {
        let paris = Timestamp::parse("2026-12-03T19:00:00+01:00", "starts_at").unwrap();
        let utc = Timestamp::parse("2026-12-03T18:00:00Z", "starts_at").unwrap();
        assert_eq!(paris, utc);
        assert_eq!(utc.millis(), 1_796_320_800_000);
        assert_eq!(utc.to_datetime().offset(), time::UtcOffset::UTC);
    }

    #[test]
    fn sub_millisecond_digits_are_dropped() {
        let at = Timestamp::parse("2026-12-03T18:00:00.123456789Z", "starts_at").unwrap();
        assert_eq!(at.millis() % 1000, 123);
        let before_epoch = Timestamp::parse("1969-12-31T23:59:59.9995Z", "x").unwrap();
        assert_eq!(before_epoch.millis(), -1);
    }

    #[test]
    fn anything_but_rfc_3339_is_refused_with_its_field() {
        for bad in [
            "",
            "tomorrow",
            "2026-12-03",
            "2026-12-03T18:00:00",
            "2026-12-03 18:00",
            "2026-13-03T18:00:00Z",
            "2026-12-03T25:00:00Z",
            "1796320800",
        ] {
            let error = Timestamp::parse(bad, "ends_at").unwrap_err();
            assert_eq!(error.field, "ends_at", "{bad}");
        }
    }

    #[test]
    fn millis_round_trip() {
        let at = Timestamp::parse("2026-12-03T18:00:00.250Z", "x").unwrap();
        assert_eq!(Timestamp::from_millis(at.millis()), at);
        assert_eq!(Timestamp::from_datetime(at.to_datetime()), at);
    }
}
