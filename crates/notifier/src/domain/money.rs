//! Amounts of money as the notifier shows them: integer cents in, `25.00 EUR` out.

use std::fmt;

/// A non-negative amount in euro cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(i64);

impl Cents {
    /// `None` for a negative amount, which no order can have.
    pub fn new(cents: i64) -> Option<Self> {
        (cents >= 0).then_some(Self(cents))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Cents {
    /// Euros with exactly two decimals and the currency: `2500` → `25.00 EUR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02} EUR", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_two_decimals_and_the_currency() {
        let shown = |cents| Cents::new(cents).unwrap().to_string();
        assert_eq!(shown(2500), "25.00 EUR");
        assert_eq!(shown(0), "0.00 EUR");
        assert_eq!(shown(5), "0.05 EUR");
        assert_eq!(shown(1999), "19.99 EUR");
        assert_eq!(shown(100_000_001), "1000000.01 EUR");
    }

    #[test]
    fn negative_amounts_are_refused() {
        assert_eq!(Cents::new(-1), None);
    }
}
