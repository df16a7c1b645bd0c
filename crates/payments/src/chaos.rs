//! The bank's runtime behaviour: the decline lottery, the added latency and the outages.
//!
//! The settings live in a `watch` channel, in this process's memory: an admin's change reaches
//! every request at once, and requests held by a `hang` outage wake up the moment the outage is
//! lifted instead of polling. Each instance has its own settings (in distributed mode, set each
//! replica, or set them all through configuration).
//!
//! Only the payment routes go through [`Chaos::admit`]; the chaos routes themselves, health and
//! metrics keep working during an outage, so the outage can always be lifted and a simulated
//! outage never makes the instance look unready to its orchestrator.

use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::domain::{ChaosSettings, Decision, Outage};
use crate::error::PaymentsError;

/// The longest a `hang` outage holds a request before answering 503: a client that never gives
/// up must not leave tasks piling up forever.
pub const HANG_LIMIT: Duration = Duration::from_secs(5 * 60);

/// The chaos settings of this process and the randomness behind the decline rate.
pub struct Chaos {
    settings: watch::Sender<ChaosSettings>,
    random: SystemRandom,
    hang_limit: Duration,
}

impl std::fmt::Debug for Chaos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chaos")
            .field("settings", &self.settings())
            .finish_non_exhaustive()
    }
}

impl Chaos {
    pub fn new(initial: ChaosSettings) -> Self {
        Self {
            settings: watch::Sender::new(initial),
            random: SystemRandom::new(),
            hang_limit: HANG_LIMIT,
        }
    }

    /// The settings now.
    pub fn settings(&self) -> ChaosSettings {
        *self.settings.borrow()
    }

    /// Replaces the settings; requests held by a `hang` outage re-check them at once.
    pub fn set(&self, settings: ChaosSettings) -> ChaosSettings {
        self.update(|current| *current = settings)
    }

    /// Changes some settings in one step (no concurrent change is lost); returns the result.
    pub fn update(&self, change: impl FnOnce(&mut ChaosSettings)) -> ChaosSettings {
        let mut previous = None;
        self.settings.send_modify(|settings| {
            previous = Some(*settings);
            change(settings);
        });
        let settings = self.settings();
        if previous != Some(settings) {
            tracing::info!(
                decline_rate = settings.decline_rate.value(),
                latency_ms = settings.latency.millis(),
                outage = settings.outage.as_str(),
                "chaos settings changed"
            );
        }
        settings
    }

    /// Approves or declines a charge at the current decline rate, with a cryptographic RNG so
    /// the outcome cannot be predicted or steered.
    pub fn decide(&self) -> Result<Decision, PaymentsError> {
        let rate = self.settings().decline_rate;
        let mut bytes = [0u8; 8];
        self.random
            .fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
        // 53 random bits: uniform in [0, 1) with every value exactly representable.
        let draw = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        Ok(if rate.declines(draw) {
            Decision::Declined
        } else {
            Decision::Approved
        })
    }

    /// Lets a payment call through as the settings say: waits the added latency, then answers
    /// [`PaymentsError::Unavailable`] during an `error` outage, or holds the call during a
    /// `hang` outage until it is lifted (then follows the new settings), the process stops, or
    /// [`HANG_LIMIT`] passes. A caller that gives up closes its connection, which drops the held
    /// request at once: it is never charged when the outage ends.
    pub async fn admit(&self, shutdown: &CancellationToken) -> Result<(), PaymentsError> {
        let mut settings = self.settings.subscribe();
        let latency = settings.borrow_and_update().latency.duration();
        if !latency.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(latency) => {}
                () = shutdown.cancelled() => return Err(PaymentsError::Unavailable),
            }
        }
        let deadline = tokio::time::Instant::now() + self.hang_limit;
        loop {
            let outage = settings.borrow_and_update().outage;
            match outage {
                Outage::None => return Ok(()),
                Outage::Error => return Err(PaymentsError::Unavailable),
                Outage::Hang => {
                    tokio::select! {
                        changed = settings.changed() => {
                            if changed.is_err() {
                                return Err(PaymentsError::Unavailable);
                            }
                        }
                        () = tokio::time::sleep_until(deadline) => {
                            tracing::debug!("a hanging payment call reached the hang limit");
                            return Err(PaymentsError::Unavailable);
                        }
                        () = shutdown.cancelled() => return Err(PaymentsError::Unavailable),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeclineRate, Latency};

    fn with(decline_rate: f64, latency_ms: i64, outage: Outage) -> ChaosSettings {
        ChaosSettings {
            decline_rate: DeclineRate::parse(decline_rate).unwrap(),
            latency: Latency::parse(latency_ms).unwrap(),
            outage,
        }
    }

    #[test]
    fn the_extreme_rates_are_certain() {
        let chaos = Chaos::new(with(0.0, 0, Outage::None));
        assert!((0..1000).all(|_| chaos.decide().unwrap() == Decision::Approved));
        chaos.set(with(1.0, 0, Outage::None));
        assert!((0..1000).all(|_| chaos.decide().unwrap() == Decision::Declined));
    }

    #[test]
    fn the_seed_rate_gives_both_outcomes_roughly_evenly() {
        let chaos = Chaos::new(ChaosSettings::default());
        let declined = (0..10_000)
            .filter(|_| chaos.decide().unwrap() == Decision::Declined)
            .count();
        // Six standard deviations (50 each) either side of 5000.
        assert!((4_700..=5_300).contains(&declined), "{declined}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_ends_when_the_limit_passes() {
        let mut chaos = Chaos::new(with(0.0, 0, Outage::Hang));
        chaos.hang_limit = Duration::from_secs(1);
        let started = tokio::time::Instant::now();
        let outcome = chaos.admit(&CancellationToken::new()).await;
        assert!(matches!(outcome, Err(PaymentsError::Unavailable)));
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_ends_when_the_process_stops() {
        let chaos = Chaos::new(with(0.0, 0, Outage::Hang));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            stop.cancel();
        });
        let outcome = chaos.admit(&shutdown).await;
        assert!(matches!(outcome, Err(PaymentsError::Unavailable)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_lifted_into_an_error_outage_answers_the_error() {
        let chaos = std::sync::Arc::new(Chaos::new(with(0.0, 0, Outage::Hang)));
        let setter = chaos.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            setter.set(with(0.0, 0, Outage::Error));
        });
        let outcome = chaos.admit(&CancellationToken::new()).await;
        assert!(matches!(outcome, Err(PaymentsError::Unavailable)));
    }
}
