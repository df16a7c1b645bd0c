//! The payments service's settings, from flags or `MICROSHOP_PAYMENTS_…` environment variables.
//!
//! Every flag carries the `payments-` prefix so the binary can flatten this struct next to other
//! services' settings. The chaos flags only set the bank's behaviour at start: an admin changes
//! it at runtime with `PUT /payments/chaos`, and that change lives in the process's memory
//! until the next change or restart (each instance has its own).

use crate::domain::{ChaosSettings, DeclineRate, Latency, Outage};

/// Database connections per process.
pub const DEFAULT_DB_POOL_SIZE: u32 = 8;

/// The payments service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "payments-settings")]
#[command(next_help_heading = "Payments service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`); default: `payments.db` in the data
    /// directory.
    #[arg(
        long = "payments-database-url",
        id = "payments-database-url",
        env = "MICROSHOP_PAYMENTS_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "payments-db-pool-size",
        id = "payments-db-pool-size",
        env = "MICROSHOP_PAYMENTS_DB_POOL_SIZE",
        default_value_t = DEFAULT_DB_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_pool_size: u32,

    /// Share of charges the simulated bank declines at start, from 0.0 to 1.0 (the seed's bank
    /// declines half). Changeable at runtime with `PUT /payments/chaos`.
    #[arg(
        long = "payments-decline-rate",
        id = "payments-decline-rate",
        env = "MICROSHOP_PAYMENTS_DECLINE_RATE",
        default_value = "0.5"
    )]
    pub decline_rate: DeclineRate,

    /// Milliseconds added before every payment answer at start, from 0 to 60000.
    #[arg(
        long = "payments-latency-ms",
        id = "payments-latency-ms",
        env = "MICROSHOP_PAYMENTS_LATENCY_MS",
        default_value = "0"
    )]
    pub latency_ms: Latency,

    /// Simulated outage at start: `none`, `error` (payment calls answer 503) or `hang`
    /// (payment calls do not answer until the outage is lifted).
    #[arg(
        long = "payments-outage",
        id = "payments-outage",
        env = "MICROSHOP_PAYMENTS_OUTAGE",
        default_value = "none"
    )]
    pub outage: Outage,
}

impl Default for Config {
    fn default() -> Self {
        let chaos = ChaosSettings::default();
        Self {
            database_url: None,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
            decline_rate: chaos.decline_rate,
            latency_ms: chaos.latency,
            outage: chaos.outage,
        }
    }
}

impl Config {
    /// The bank's behaviour at start.
    pub fn chaos(&self) -> ChaosSettings {
        ChaosSettings {
            decline_rate: self.decline_rate,
            latency: self.latency_ms,
            outage: self.outage,
        }
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
        let parsed = Cli::try_parse_from(["payments"]).unwrap().config;
        let default = Config::default();
        assert_eq!(parsed.database_url, default.database_url);
        assert_eq!(parsed.db_pool_size, default.db_pool_size);
        assert_eq!(parsed.chaos(), default.chaos());
        assert_eq!(parsed.chaos(), ChaosSettings::default());
    }

    #[test]
    fn every_setting_has_a_payments_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "payments",
            "--payments-database-url",
            "sqlite::memory:",
            "--payments-db-pool-size",
            "3",
            "--payments-decline-rate",
            "0",
            "--payments-latency-ms",
            "250",
            "--payments-outage",
            "hang",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
        assert_eq!(parsed.decline_rate.value(), 0.0);
        assert_eq!(parsed.latency_ms.millis(), 250);
        assert_eq!(parsed.outage, Outage::Hang);
    }

    #[test]
    fn out_of_range_chaos_settings_are_refused() {
        for args in [
            ["--payments-decline-rate", "1.5"],
            ["--payments-decline-rate", "-0.1"],
            ["--payments-decline-rate", "half"],
            ["--payments-latency-ms", "60001"],
            ["--payments-latency-ms", "-1"],
            ["--payments-outage", "sometimes"],
            ["--payments-db-pool-size", "0"],
        ] {
            let mut argv = vec!["payments"];
            argv.extend(args);
            assert!(Cli::try_parse_from(argv).is_err(), "{args:?}");
        }
    }
}
