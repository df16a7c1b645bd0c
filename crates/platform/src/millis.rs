//! Stored times: every service stores instants as unix milliseconds (`BIGINT`), the one time
//! type SQLite and PostgreSQL share through sqlx's `Any` driver, and durations of its settings
//! as milliseconds too. These are the conversions, written once so every service rounds and
//! saturates the same way.

use std::time::Duration;

use time::OffsetDateTime;

/// The current time as stored: unix milliseconds.
pub fn now_millis() -> i64 {
    to_millis(OffsetDateTime::now_utc())
}

/// `at` as stored: unix milliseconds (saturating; no date of this shop is that far away).
pub fn to_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A stored timestamp back as a date, for the API; an error for a value no date can have.
pub fn from_millis(millis: i64) -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(millis) * 1_000_000,
    )?)
}

/// Milliseconds in a duration, saturating (durations here are configuration, never huge).
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A stored UUID column's text as a UUID; an error names the text, since it means the row was
/// written by something other than the service.
pub fn parse_uuid(text: &str) -> anyhow::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(text)
        .map_err(|error| anyhow::anyhow!("stored id {text:?} is not a UUID: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let now = now_millis();
        assert_eq!(to_millis(from_millis(now).unwrap()), now);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::MAX), i64::MAX);
        assert!(from_millis(i64::MAX).is_err());
        assert!(parse_uuid("nope").is_err());
    }
}
