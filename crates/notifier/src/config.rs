//! The notifier's settings, from flags or `MICROSHOP_NOTIFIER_…` environment variables.
//!
//! Every flag carries the `notifier-` prefix so the binary can flatten this struct next to the
//! other services' settings without collisions (see `docs/service-contracts.md`).

use std::time::Duration;

/// Database connections per process.
pub const DEFAULT_DB_POOL_SIZE: u32 = 8;

/// Seconds between two keep-alive comments on an idle notification stream: short enough that
/// proxies with a 30–60 s idle timeout never cut a quiet stream.
pub const DEFAULT_KEEPALIVE_SECS: u64 = 15;

/// The notifier service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "notifier-settings")]
#[command(next_help_heading = "Notifier service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`); default: `notifier.db` in the data directory.
    #[arg(
        long = "notifier-database-url",
        id = "notifier-database-url",
        env = "MICROSHOP_NOTIFIER_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "notifier-db-pool-size",
        id = "notifier-db-pool-size",
        env = "MICROSHOP_NOTIFIER_DB_POOL_SIZE",
        default_value_t = DEFAULT_DB_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_pool_size: u32,

    /// Seconds between keep-alive comments on an idle `GET /notifications/stream`.
    #[arg(
        long = "notifier-keepalive-secs",
        id = "notifier-keepalive-secs",
        env = "MICROSHOP_NOTIFIER_KEEPALIVE_SECS",
        default_value_t = DEFAULT_KEEPALIVE_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub keepalive_secs: u64,

    /// Notification streams one user may hold open at once (tabs, devices); one more answers
    /// 429.
    #[arg(
        long = "notifier-max-streams-per-user",
        id = "notifier-max-streams-per-user",
        env = "MICROSHOP_NOTIFIER_MAX_STREAMS_PER_USER",
        default_value_t = DEFAULT_MAX_STREAMS_PER_USER,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub max_streams_per_user: u32,

    /// Notification streams this process holds open at once, all users together; one more
    /// answers 503 (another instance may have room).
    #[arg(
        long = "notifier-max-streams",
        id = "notifier-max-streams",
        env = "MICROSHOP_NOTIFIER_MAX_STREAMS",
        default_value_t = DEFAULT_MAX_STREAMS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_streams: u32,
}

/// Streams per user unless configured otherwise.
pub const DEFAULT_MAX_STREAMS_PER_USER: u32 = 5;

/// Streams per process unless configured otherwise: each is a connection and a few KiB.
pub const DEFAULT_MAX_STREAMS: u32 = 10_000;

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
            keepalive_secs: DEFAULT_KEEPALIVE_SECS,
            max_streams_per_user: DEFAULT_MAX_STREAMS_PER_USER,
            max_streams: DEFAULT_MAX_STREAMS,
        }
    }
}

impl Config {
    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs)
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
        let parsed = Cli::try_parse_from(["notifier"]).unwrap().config;
        let default = Config::default();
        assert_eq!(parsed.database_url, default.database_url);
        assert_eq!(parsed.db_pool_size, default.db_pool_size);
        assert_eq!(parsed.keepalive_secs, default.keepalive_secs);
        assert_eq!(default.keepalive(), Duration::from_secs(15));
        assert_eq!(parsed.max_streams_per_user, default.max_streams_per_user);
        assert_eq!(parsed.max_streams, default.max_streams);
    }

    #[test]
    fn every_setting_has_a_notifier_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "notifier",
            "--notifier-database-url",
            "sqlite::memory:",
            "--notifier-db-pool-size",
            "3",
            "--notifier-keepalive-secs",
            "2",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
        assert_eq!(parsed.keepalive(), Duration::from_secs(2));
    }

    #[test]
    fn zero_values_are_refused() {
        assert!(Cli::try_parse_from(["notifier", "--notifier-keepalive-secs", "0"]).is_err());
        assert!(Cli::try_parse_from(["notifier", "--notifier-db-pool-size", "0"]).is_err());
    }
}
