//! The agenda service's settings, from flags or `MICROSHOP_AGENDA_…` environment variables.
//!
//! Every flag carries the `agenda-` prefix so the binary can flatten this struct next to the
//! other services' settings without collisions (see `docs/service-contracts.md`).

/// Database connections per process.
pub const DEFAULT_DB_POOL_SIZE: u32 = 8;

/// The agenda service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "agenda-settings")]
#[command(next_help_heading = "Agenda service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`); default: `agenda.db` in the data directory.
    #[arg(
        long = "agenda-database-url",
        id = "agenda-database-url",
        env = "MICROSHOP_AGENDA_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "agenda-db-pool-size",
        id = "agenda-db-pool-size",
        env = "MICROSHOP_AGENDA_DB_POOL_SIZE",
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
        let parsed = Cli::try_parse_from(["agenda"]).unwrap().config;
        let default = Config::default();
        assert_eq!(parsed.database_url, default.database_url);
        assert_eq!(parsed.db_pool_size, default.db_pool_size);
    }

    #[test]
    fn every_setting_has_an_agenda_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "agenda",
            "--agenda-database-url",
            "sqlite::memory:",
            "--agenda-db-pool-size",
            "3",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
    }

    #[test]
    fn a_zero_pool_size_is_refused() {
        assert!(Cli::try_parse_from(["agenda", "--agenda-db-pool-size", "0"]).is_err());
    }
}
