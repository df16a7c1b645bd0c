//! Pool usage on `/metrics`, read at each scrape.

use std::sync::Arc;

use sqlx::AnyPool;

/// A service's pool usage as gauges, read at each scrape (see [`crate::metrics::Sampled`]):
/// `db_pool_connections{service, state="idle"|"in_use"}` and
/// `db_pool_max_connections{service}`. In use near the maximum, with requests waiting, is a pool
/// too small for the load, or connections held across slow calls; idle near zero at rest, a
/// database that keeps dropping connections.
///
/// On SQLite the file's single writer connection is not part of the pool: its contention shows
/// in `db_write_wait_duration_seconds` instead.
pub struct PoolUsage {
    pool: AnyPool,
    idle: metrics::Gauge,
    in_use: metrics::Gauge,
    max: metrics::Gauge,
}

impl std::fmt::Debug for PoolUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolUsage").finish_non_exhaustive()
    }
}

impl PoolUsage {
    /// Reports `pool`'s usage under `service` on every `/metrics` for as long as the returned
    /// handle lives (the service's router holds it); the series exist from this call on.
    pub fn report(service: &'static str, pool: AnyPool) -> Arc<Self> {
        // The recorder must exist before the gauges are registered, or they record nowhere.
        crate::metrics::handle();
        metrics::describe_gauge!(
            "db_pool_connections",
            "Connections a service's database pool holds open, by state (idle, in_use)"
        );
        metrics::describe_gauge!(
            "db_pool_max_connections",
            "The most connections a service's database pool may open"
        );
        let usage = Arc::new(Self {
            pool,
            idle: metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle"),
            in_use: metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use"),
            max: metrics::gauge!("db_pool_max_connections", "service" => service),
        });
        usage.sample_now();
        let sampled: Arc<dyn crate::metrics::Sampled> = usage.clone();
        crate::metrics::sample_at_render(&sampled);
        usage
    }

    fn sample_now(&self) {
        // Two separate atomic loads: a connection may change hands in between, so never let
        // idle exceed the total.
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle())
            .unwrap_or(u32::MAX)
            .min(open);
        self.idle.set(f64::from(idle));
        self.in_use.set(f64::from(open - idle));
        self.max
            .set(f64::from(self.pool.options().get_max_connections()));
    }
}

impl crate::metrics::Sampled for PoolUsage {
    fn sample(&self) {
        self.sample_now();
    }
}
