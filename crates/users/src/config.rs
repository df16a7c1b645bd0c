//! The users service's settings, from flags or `MICROSHOP_USERS_…` environment variables.
//!
//! Every flag carries the `users-` prefix so the binary can flatten this struct next to other
//! services' settings in `microshop up` without collisions.

/// Database connections per process.
pub const DEFAULT_DB_POOL_SIZE: u32 = 8;

/// The users service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "users-settings")]
#[command(next_help_heading = "Users service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`); default: `users.db` in the data directory.
    #[arg(
        long = "users-database-url",
        id = "users-database-url",
        env = "MICROSHOP_USERS_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "users-db-pool-size",
        id = "users-db-pool-size",
        env = "MICROSHOP_USERS_DB_POOL_SIZE",
        default_value_t = DEFAULT_DB_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_pool_size: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
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
        let parsed = Cli::try_parse_from(["users"]).unwrap().config;
        assert_eq!(parsed.db_pool_size, Config::default().db_pool_size);
        assert_eq!(parsed.database_url, None);
    }

    #[test]
    fn every_setting_has_a_users_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "users",
            "--users-database-url",
            "sqlite::memory:",
            "--users-db-pool-size",
            "3",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
        assert!(Cli::try_parse_from(["users", "--users-db-pool-size", "0"]).is_err());
    }
}
