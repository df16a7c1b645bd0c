//! The cars service's settings, from flags or `MICROSHOP_CARS_…` environment variables.
//!
//! Every flag carries the `cars-` prefix so the binary can flatten this struct next to other
//! services' settings in `microshop up` without collisions. Without a database URL the service
//! keeps its cars in `cars.db` in the data directory; the seed's deployment (a serverless
//! Postgres such as Neon) is a `postgres://…?sslmode=require` URL.

/// Database connections per process.
pub const DEFAULT_DB_POOL_SIZE: u32 = 8;

/// The cars service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "cars-settings")]
#[command(next_help_heading = "Cars service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`, with `?sslmode=require` or
    /// `?sslmode=verify-full` for TLS, as Neon needs); default: `cars.db` in the data directory.
    #[arg(
        long = "cars-database-url",
        id = "cars-database-url",
        env = "MICROSHOP_CARS_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "cars-db-pool-size",
        id = "cars-db-pool-size",
        env = "MICROSHOP_CARS_DB_POOL_SIZE",
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
        let parsed = Cli::try_parse_from(["cars"]).unwrap().config;
        assert_eq!(parsed.db_pool_size, Config::default().db_pool_size);
        assert_eq!(parsed.database_url, None);
    }

    #[test]
    fn every_setting_has_a_cars_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "cars",
            "--cars-database-url",
            "postgres://cars@db.example.com/cars?sslmode=require",
            "--cars-db-pool-size",
            "3",
        ])
        .unwrap()
        .config;
        assert_eq!(
            parsed.database_url.as_deref(),
            Some("postgres://cars@db.example.com/cars?sslmode=require")
        );
        assert_eq!(parsed.db_pool_size, 3);
        assert!(Cli::try_parse_from(["cars", "--cars-db-pool-size", "0"]).is_err());
    }
}
