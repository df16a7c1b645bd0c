//! The orders service's settings, from flags or `MICROSHOP_ORDERS_…` environment variables.
//!
//! Every flag carries the `orders-` prefix so the binary can flatten this struct next to the
//! other services' settings. The other services' URLs are not here: they come from
//! [`platform::Wiring::urls`], decided by the binary. The defaults follow the issue: a 2 s
//! timeout on the bank, breakers opening after 5 consecutive failures or ≥50 % of ≥20 calls
//! within 10 s and probing again after 30 s, and unpaid orders expiring after 15 minutes.

use std::time::Duration;

use platform::client::CallPolicy;
use platform::resilience::{BreakerConfig, parse_ratio};

pub const DEFAULT_DB_POOL_SIZE: u32 = 8;
pub const DEFAULT_PAYMENTS_TIMEOUT_MS: u64 = 2000;
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 2000;
pub const DEFAULT_PAYMENT_TIMEOUT_SECS: u64 = 900;
pub const DEFAULT_SWEEP_INTERVAL_MS: u64 = 2000;

/// The orders service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "orders-settings")]
#[command(next_help_heading = "Orders service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`); default: `orders.db` in the data directory.
    #[arg(
        long = "orders-database-url",
        id = "orders-database-url",
        env = "MICROSHOP_ORDERS_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "orders-db-pool-size",
        id = "orders-db-pool-size",
        env = "MICROSHOP_ORDERS_DB_POOL_SIZE",
        default_value_t = DEFAULT_DB_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_pool_size: u32,

    /// How long a charge at payments may take before the order answers 503 and stays
    /// `awaiting_payment`, in milliseconds.
    #[arg(
        long = "orders-payments-timeout-ms",
        id = "orders-payments-timeout-ms",
        env = "MICROSHOP_ORDERS_PAYMENTS_TIMEOUT_MS",
        default_value_t = DEFAULT_PAYMENTS_TIMEOUT_MS,
        value_parser = clap::value_parser!(u64).range(1..=600_000)
    )]
    pub payments_timeout_ms: u64,

    /// Timeout of calls to products (reservations) and users (the default shipping address),
    /// in milliseconds.
    #[arg(
        long = "orders-upstream-timeout-ms",
        id = "orders-upstream-timeout-ms",
        env = "MICROSHOP_ORDERS_UPSTREAM_TIMEOUT_MS",
        default_value_t = DEFAULT_UPSTREAM_TIMEOUT_MS,
        value_parser = clap::value_parser!(u64).range(1..=600_000)
    )]
    pub upstream_timeout_ms: u64,

    /// Consecutive failures that open a circuit breaker (each upstream has its own).
    #[arg(
        long = "orders-breaker-failures",
        id = "orders-breaker-failures",
        env = "MICROSHOP_ORDERS_BREAKER_FAILURES",
        default_value_t = BreakerConfig::DEFAULT_FAILURES,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub breaker_failures: u32,

    /// Failure ratio over the window (with at least the minimum calls) that opens a breaker.
    #[arg(
        long = "orders-breaker-ratio",
        id = "orders-breaker-ratio",
        env = "MICROSHOP_ORDERS_BREAKER_RATIO",
        default_value_t = BreakerConfig::DEFAULT_RATIO,
        value_parser = parse_ratio
    )]
    pub breaker_ratio: f64,

    /// Calls within the window before the failure ratio counts.
    #[arg(
        long = "orders-breaker-min-calls",
        id = "orders-breaker-min-calls",
        env = "MICROSHOP_ORDERS_BREAKER_MIN_CALLS",
        default_value_t = BreakerConfig::DEFAULT_MIN_CALLS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub breaker_min_calls: u32,

    /// Length of the sliding window the failure ratio is measured over, in seconds.
    #[arg(
        long = "orders-breaker-window-secs",
        id = "orders-breaker-window-secs",
        env = "MICROSHOP_ORDERS_BREAKER_WINDOW_SECS",
        default_value_t = BreakerConfig::DEFAULT_WINDOW_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub breaker_window_secs: u64,

    /// How long an open breaker refuses calls before letting one probe through, in seconds.
    #[arg(
        long = "orders-breaker-open-secs",
        id = "orders-breaker-open-secs",
        env = "MICROSHOP_ORDERS_BREAKER_OPEN_SECS",
        default_value_t = BreakerConfig::DEFAULT_OPEN_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub breaker_open_secs: u64,

    /// How long an order may stay `awaiting_payment` before it is cancelled and its stock
    /// released, in seconds.
    #[arg(
        long = "orders-payment-timeout-secs",
        id = "orders-payment-timeout-secs",
        env = "MICROSHOP_ORDERS_PAYMENT_TIMEOUT_SECS",
        default_value_t = DEFAULT_PAYMENT_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=30 * 24 * 3600)
    )]
    pub payment_timeout_secs: u64,

    /// How often the background sweep expires unpaid orders and retries pending stock
    /// releases, confirmations and refunds, in milliseconds.
    #[arg(
        long = "orders-sweep-interval-ms",
        id = "orders-sweep-interval-ms",
        env = "MICROSHOP_ORDERS_SWEEP_INTERVAL_MS",
        default_value_t = DEFAULT_SWEEP_INTERVAL_MS,
        value_parser = clap::value_parser!(u64).range(10..=600_000)
    )]
    pub sweep_interval_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
            payments_timeout_ms: DEFAULT_PAYMENTS_TIMEOUT_MS,
            upstream_timeout_ms: DEFAULT_UPSTREAM_TIMEOUT_MS,
            breaker_failures: BreakerConfig::DEFAULT_FAILURES,
            breaker_ratio: BreakerConfig::DEFAULT_RATIO,
            breaker_min_calls: BreakerConfig::DEFAULT_MIN_CALLS,
            breaker_window_secs: BreakerConfig::DEFAULT_WINDOW_SECS,
            breaker_open_secs: BreakerConfig::DEFAULT_OPEN_SECS,
            payment_timeout_secs: DEFAULT_PAYMENT_TIMEOUT_SECS,
            sweep_interval_ms: DEFAULT_SWEEP_INTERVAL_MS,
        }
    }
}

impl Config {
    /// The breaker every upstream client of this service uses.
    pub fn breaker(&self) -> BreakerConfig {
        BreakerConfig::from_settings(
            self.breaker_failures,
            self.breaker_ratio,
            self.breaker_min_calls,
            self.breaker_window_secs,
            self.breaker_open_secs,
        )
    }

    /// The policy of charges and refunds at payments.
    pub fn payments_policy(&self) -> CallPolicy {
        CallPolicy {
            timeout: Duration::from_millis(self.payments_timeout_ms),
            breaker: self.breaker(),
            ..CallPolicy::default()
        }
    }

    /// The policy of calls to products and users.
    pub fn upstream_policy(&self) -> CallPolicy {
        CallPolicy {
            timeout: Duration::from_millis(self.upstream_timeout_ms),
            breaker: self.breaker(),
            ..CallPolicy::default()
        }
    }

    pub fn payment_timeout(&self) -> Duration {
        Duration::from_secs(self.payment_timeout_secs)
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.sweep_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn clap_defaults_match_the_default_impl() {
        let parsed = Cli::try_parse_from(["orders"]).unwrap().config;
        let default = Config::default();
        assert_eq!(parsed.database_url, default.database_url);
        assert_eq!(parsed.db_pool_size, default.db_pool_size);
        assert_eq!(parsed.payments_timeout_ms, 2000);
        assert_eq!(parsed.upstream_timeout_ms, default.upstream_timeout_ms);
        assert_eq!(parsed.breaker_failures, 5);
        assert_eq!(parsed.breaker_ratio, 0.5);
        assert_eq!(parsed.breaker_min_calls, 20);
        assert_eq!(parsed.breaker_window_secs, 10);
        assert_eq!(parsed.breaker_open_secs, 30);
        assert_eq!(parsed.payment_timeout_secs, 900);
        assert_eq!(parsed.sweep_interval_ms, default.sweep_interval_ms);
    }

    #[test]
    fn every_setting_has_an_orders_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "orders",
            "--orders-database-url",
            "sqlite::memory:",
            "--orders-db-pool-size",
            "3",
            "--orders-payments-timeout-ms",
            "150",
            "--orders-upstream-timeout-ms",
            "250",
            "--orders-breaker-failures",
            "2",
            "--orders-breaker-ratio",
            "0.75",
            "--orders-breaker-min-calls",
            "4",
            "--orders-breaker-window-secs",
            "5",
            "--orders-breaker-open-secs",
            "1",
            "--orders-payment-timeout-secs",
            "60",
            "--orders-sweep-interval-ms",
            "100",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
        assert_eq!(parsed.payments_policy().timeout, Duration::from_millis(150));
        assert_eq!(parsed.upstream_policy().timeout, Duration::from_millis(250));
        let breaker = parsed.breaker();
        assert_eq!(breaker.consecutive_failures, 2);
        assert_eq!(breaker.failure_ratio, 0.75);
        assert_eq!(breaker.min_calls, 4);
        assert_eq!(breaker.window, Duration::from_secs(5));
        assert_eq!(breaker.open_for, Duration::from_secs(1));
        assert_eq!(parsed.payment_timeout(), Duration::from_secs(60));
        assert_eq!(parsed.sweep_interval(), Duration::from_millis(100));
    }

    #[test]
    fn nonsense_values_are_refused() {
        for args in [
            ["orders", "--orders-breaker-ratio", "1.5"],
            ["orders", "--orders-breaker-ratio", "0"],
            ["orders", "--orders-breaker-ratio", "half"],
            ["orders", "--orders-breaker-failures", "0"],
            ["orders", "--orders-payments-timeout-ms", "0"],
            ["orders", "--orders-payment-timeout-secs", "0"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
