//! Request metrics for the proxied routes, recorded without per-request allocation.
//!
//! The series are the ones every service exports (`http_requests_total`,
//! `http_request_duration_seconds`, `http_requests_in_flight`, labelled `service`, `method`,
//! `route`, `status`), so one dashboard covers the gateway and the services. The gateway records
//! them itself instead of through the common middleware because it sits on every request's
//! path: the generic middleware builds its label strings and looks the series up in the registry
//! on each request, which measured as much work as the proxying itself. Here the series handles
//! are looked up once per (method, status) and reused.
//!
//! Labels stay bounded: `route` is the route's prefix (`/orders`), never the raw path, and a
//! method outside the standard set is counted as `OTHER`.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use http::{Method, StatusCode};
use metrics::{Counter, Gauge, Histogram};

const SERVICE: &str = "gateway";

struct Series {
    count: Counter,
    latency: Histogram,
}

/// The series of one proxied route.
pub(crate) struct RouteMetrics {
    route: &'static str,
    series: RwLock<HashMap<u32, Series>>,
    in_flight: Gauge,
}

impl std::fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMetrics")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl RouteMetrics {
    pub(crate) fn new(route: &'static str) -> Self {
        // Handles taken before the recorder exists would record nowhere.
        platform::metrics::handle();
        Self {
            route,
            series: RwLock::new(HashMap::new()),
            in_flight: metrics::gauge!("http_requests_in_flight", "service" => SERVICE),
        }
    }

    /// Counts a request in flight until the returned guard is dropped.
    pub(crate) fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.increment(1.0);
        InFlight(&self.in_flight)
    }

    /// Records one answered request.
    pub(crate) fn record(&self, method: &Method, status: StatusCode, elapsed: Duration) {
        let (method_index, method_label) = method_label(method);
        let key = (u32::from(method_index) << 16) | u32::from(status.as_u16());
        let seconds = elapsed.as_secs_f64();
        {
            let series = self
                .series
                .read()
                .unwrap_or_else(|poison| poison.into_inner());
            if let Some(series) = series.get(&key) {
                series.count.increment(1);
                series.latency.record(seconds);
                return;
            }
        }
        let mut series = self
            .series
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        let entry = series.entry(key).or_insert_with(|| {
            let labels = [
                ("service", SERVICE.to_owned()),
                ("method", method_label.to_owned()),
                ("route", self.route.to_owned()),
                ("status", status.as_u16().to_string()),
            ];
            Series {
                count: metrics::counter!("http_requests_total", &labels),
                latency: metrics::histogram!("http_request_duration_seconds", &labels),
            }
        });
        entry.count.increment(1);
        entry.latency.record(seconds);
    }
}

/// Decrements the in-flight gauge when the request is answered (or abandoned).
pub(crate) struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

fn method_label(method: &Method) -> (u8, &'static str) {
    match *method {
        Method::GET => (0, "GET"),
        Method::POST => (1, "POST"),
        Method::PUT => (2, "PUT"),
        Method::PATCH => (3, "PATCH"),
        Method::DELETE => (4, "DELETE"),
        Method::HEAD => (5, "HEAD"),
        Method::OPTIONS => (6, "OPTIONS"),
        _ => (7, "OTHER"),
    }
}
