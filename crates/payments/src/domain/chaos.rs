//! The chaos settings: how badly the simulated bank behaves.
//!
//! The seed's bank approves half of the payments; the rest of the system must also be shown
//! coping with a slow bank and a bank that is down (answering errors, or not answering at all),
//! so those are settings too, validated here once.

use std::str::FromStr;
use std::time::Duration;

use super::ValidationError;

/// The share of charges declined, from 0.0 (never) to 1.0 (always).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeclineRate(f64);

impl DeclineRate {
    /// The seed's bank: a coin toss.
    pub const SEED: DeclineRate = DeclineRate(0.5);

    pub fn parse(rate: f64) -> Result<Self, ValidationError> {
        if rate.is_finite() && (0.0..=1.0).contains(&rate) {
            Ok(Self(rate))
        } else {
            Err(ValidationError::new(
                "decline_rate",
                "must be a number from 0.0 to 1.0",
            ))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }

    /// Whether a charge is declined, given `draw` uniform in `[0, 1)`: 0.0 never declines,
    /// 1.0 always does.
    pub fn declines(self, draw: f64) -> bool {
        draw < self.0
    }
}

impl FromStr for DeclineRate {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rate = text.trim().parse::<f64>().map_err(|_| {
            ValidationError::new("decline_rate", "must be a number from 0.0 to 1.0")
        })?;
        Self::parse(rate)
    }
}

/// Delay added before the bank answers, up to a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency(u64);

impl Latency {
    pub const MAX_MS: u64 = 60_000;
    pub const NONE: Latency = Latency(0);

    pub fn parse(millis: i64) -> Result<Self, ValidationError> {
        match u64::try_from(millis) {
            Ok(millis) if millis <= Self::MAX_MS => Ok(Self(millis)),
            _ => Err(ValidationError::new(
                "latency_ms",
                format!("must be from 0 to {} milliseconds", Self::MAX_MS),
            )),
        }
    }

    pub fn millis(self) -> u64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_millis(self.0)
    }
}

impl FromStr for Latency {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let millis = text.trim().parse::<i64>().map_err(|_| {
            ValidationError::new(
                "latency_ms",
                format!("must be from 0 to {} milliseconds", Self::MAX_MS),
            )
        })?;
        Self::parse(millis)
    }
}

/// A simulated bank outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// The bank works.
    None,
    /// Every payment call answers 503 at once.
    Error,
    /// Payment calls never answer while the outage lasts (bounded, so waiting tasks cannot
    /// pile up forever).
    Hang,
}

impl Outage {
    pub const NAMES: [&'static str; 3] = ["none", "error", "hang"];

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "none" => Ok(Outage::None),
            "error" => Ok(Outage::Error),
            "hang" => Ok(Outage::Hang),
            _ => Err(ValidationError::new(
                "outage",
                "must be one of \"none\", \"error\", \"hang\"",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outage::None => "none",
            Outage::Error => "error",
            Outage::Hang => "hang",
        }
    }
}

impl FromStr for Outage {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text.trim())
    }
}

/// Every chaos knob at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChaosSettings {
    pub decline_rate: DeclineRate,
    pub latency: Latency,
    pub outage: Outage,
}

impl Default for ChaosSettings {
    /// The seed's bank: half declined, no delay, no outage.
    fn default() -> Self {
        Self {
            decline_rate: DeclineRate::SEED,
            latency: Latency::NONE,
            outage: Outage::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decline_rates_from_zero_to_one_are_accepted() {
        for rate in [0.0, 0.25, 0.5, 1.0] {
            assert_eq!(DeclineRate::parse(rate).unwrap().value(), rate);
        }
        assert_eq!("0.3".parse::<DeclineRate>().unwrap().value(), 0.3);
    }

    #[test]
    fn decline_rates_outside_zero_to_one_name_the_field() {
        for rate in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
            assert_eq!(DeclineRate::parse(rate).unwrap_err().field, "decline_rate");
        }
        assert!("half".parse::<DeclineRate>().is_err());
    }

    #[test]
    fn rate_zero_never_declines_and_rate_one_always_does() {
        let never = DeclineRate::parse(0.0).unwrap();
        let always = DeclineRate::parse(1.0).unwrap();
        for draw in [0.0, 0.5, 0.999_999_999] {
            assert!(!never.declines(draw));
            assert!(always.declines(draw));
        }
        let half = DeclineRate::SEED;
        assert!(half.declines(0.49));
        assert!(!half.declines(0.5));
    }

    #[test]
    fn latency_is_bounded_to_a_minute() {
        assert_eq!(Latency::parse(0).unwrap().millis(), 0);
        assert_eq!(
            Latency::parse(60_000).unwrap().duration(),
            Duration::from_secs(60)
        );
        for bad in [-1, 60_001] {
            assert_eq!(Latency::parse(bad).unwrap_err().field, "latency_ms");
        }
        assert!("soon".parse::<Latency>().is_err());
    }

    #[test]
    fn outages_parse_from_their_names() {
        for name in Outage::NAMES {
            assert_eq!(Outage::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(Outage::parse("down").unwrap_err().field, "outage");
        assert_eq!(Outage::parse("Error").unwrap_err().field, "outage");
    }

    #[test]
    fn the_default_is_the_seed_bank() {
        let settings = ChaosSettings::default();
        assert_eq!(settings.decline_rate.value(), 0.5);
        assert_eq!(settings.latency.millis(), 0);
        assert_eq!(settings.outage, Outage::None);
    }
}
