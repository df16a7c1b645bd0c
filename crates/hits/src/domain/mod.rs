//! What a visit is worth: the count it produced, and the seed's greeting for it.
//!
//! A count only ever comes from the backend's atomic increment, so it is at least 1; a zero or
//! negative value read back means the stored counter was tampered with, and is refused here
//! rather than shown.

use std::fmt;

/// The number of visits so far, this one included (≥ 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hits(u64);

/// A stored counter value that cannot be a count of visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored counter holds {0}, which cannot be a number of visits")]
pub struct InvalidCount(pub i64);

impl Hits {
    /// The count after an increment, as the backend returned it.
    pub fn parse(value: i64) -> Result<Self, InvalidCount> {
        match u64::try_from(value) {
            Ok(count) if count >= 1 => Ok(Self(count)),
            _ => Err(InvalidCount(value)),
        }
    }

    pub fn count(self) -> u64 {
        self.0
    }

    /// The greeting of the Docker Compose getting-started app (seed 000), worded as the issue
    /// gives it: "times" for every count, 1 included.
    pub fn message(self) -> String {
        format!("Hello World! I have been seen {} times.", self.0)
    }
}

impl fmt::Display for Hits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_count() {
        assert_eq!(
            Hits::parse(1).unwrap().message(),
            "Hello World! I have been seen 1 times."
        );
        assert_eq!(
            Hits::parse(1234).unwrap().message(),
            "Hello World! I have been seen 1234 times."
        );
    }

    #[test]
    fn a_count_below_one_is_refused() {
        assert_eq!(Hits::parse(0), Err(InvalidCount(0)));
        assert_eq!(Hits::parse(-5), Err(InvalidCount(-5)));
        assert_eq!(Hits::parse(i64::MAX).unwrap().count(), i64::MAX as u64);
    }
}
