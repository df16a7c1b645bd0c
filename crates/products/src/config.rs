//! The products service's settings, from flags or `MICROSHOP_PRODUCTS_…` environment variables.
//!
//! Every flag carries the `products-` prefix so the binary can flatten this struct next to other
//! services' settings in `microshop up` without collisions.

/// Database connections per process.
pub const DEFAULT_DB_POOL_SIZE: u32 = 8;

/// The products service's configuration.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "products-settings")]
#[command(next_help_heading = "Products service")]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`); default: `products.db` in the data
    /// directory.
    #[arg(
        long = "products-database-url",
        id = "products-database-url",
        env = "MICROSHOP_PRODUCTS_DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// Maximum database connections of this process.
    #[arg(
        long = "products-db-pool-size",
        id = "products-db-pool-size",
        env = "MICROSHOP_PRODUCTS_DB_POOL_SIZE",
        default_value_t = DEFAULT_DB_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub db_pool_size: u32,

    /// Add a sample catalogue (six products with stock) on the first start of an empty
    /// database; `false` starts with no products.
    #[arg(
        long = "products-seed-catalogue",
        id = "products-seed-catalogue",
        env = "MICROSHOP_PRODUCTS_SEED_CATALOGUE",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub seed_catalogue: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            db_pool_size: DEFAULT_DB_POOL_SIZE,
            seed_catalogue: true,
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
        let parsed = Cli::try_parse_from(["products"]).unwrap().config;
        let default = Config::default();
        assert_eq!(parsed.database_url, default.database_url);
        assert_eq!(parsed.db_pool_size, default.db_pool_size);
        assert_eq!(parsed.seed_catalogue, default.seed_catalogue);
    }

    #[test]
    fn every_setting_has_a_products_prefixed_flag() {
        let parsed = Cli::try_parse_from([
            "products",
            "--products-database-url",
            "sqlite::memory:",
            "--products-db-pool-size",
            "3",
            "--products-seed-catalogue",
            "false",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(parsed.db_pool_size, 3);
        assert!(!parsed.seed_catalogue);
    }

    #[test]
    fn seeding_accepts_the_usual_spellings_of_a_boolean() {
        for (value, expected) in [("no", false), ("0", false), ("yes", true), ("true", true)] {
            let parsed = Cli::try_parse_from(["products", "--products-seed-catalogue", value])
                .unwrap()
                .config;
            assert_eq!(parsed.seed_catalogue, expected, "{value}");
        }
        let bare = Cli::try_parse_from(["products", "--products-seed-catalogue"])
            .unwrap()
            .config;
        assert!(bare.seed_catalogue);
        assert!(Cli::try_parse_from(["products", "--products-seed-catalogue", "maybe"]).is_err());
    }

    #[test]
    fn a_zero_pool_size_is_refused() {
        assert!(Cli::try_parse_from(["products", "--products-db-pool-size", "0"]).is_err());
    }
}
