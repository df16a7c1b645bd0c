//! Prometheus metrics: one registry per service, each rendered by that service's `/metrics`.
//!
//! Every series carries a `service` label naming the service it describes (the caller's, for a
//! breaker or a client; the consuming group's, for consumer lag). In embedded mode all services
//! share one process and so one `metrics` recorder, but a port must answer for its own service,
//! not for the ten: a Prometheus scraping every port would otherwise store each series ten
//! times, under ten `instance`s. So the recorder ([`Registries`]) files each series, when it is
//! registered, in the registry of its `service` label, and a service's `/metrics` renders that
//! registry alone ([`render`]): no filtering per scrape, and a scrape costs only the series of
//! the service scraped. In `serve` mode the process holds one service, whose registry is then
//! everything the process records: the same rule, nothing to configure.
//!
//! A series without a `service` label belongs to the process rather than to a service (there is
//! none today: `crates/microshop/tests/e2e/metrics.rs` checks that every sample on every port
//! names that port's service). Such series would be rendered by every `/metrics`, after the
//! service's own: each port is equally the process's, and a process-wide value read on several
//! ports is the same value (aggregate it with `max`, not `sum`). A family must be labelled on
//! all its series or on none, or a port would declare its type twice.
//!
//! The request series (`http_requests_total`, `http_request_duration_seconds`,
//! `http_requests_in_flight`) are recorded on every request of every service and of the gateway,
//! so their handles are cached: the `metrics` macros build the label set and look the series up
//! in the registry on each call, which measured as much work as a small handler. Each thread
//! keeps the handles it used, keyed by (service, method, route, status); nothing is locked or
//! shared between threads on the hot path. Labels stay bounded so the cache does too: `route` is
//! the route template, never the raw path, and a method outside the standard set is `OTHER`.
//!
//! Some numbers are a state held elsewhere rather than events (how many connections a pool has
//! open): keeping a gauge in step would cost work on every change, so they are read when
//! `/metrics` is rendered instead ([`Sampled`], [`render`]): always fresh, nothing in the
//! background.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, StatusCode};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

static REGISTRIES: OnceLock<Registries> = OnceLock::new();

/// The label naming the service a series belongs to, which chooses its registry.
pub const SERVICE_LABEL: &str = "service";

/// Latency buckets in seconds, fine-grained under 10 ms where a healthy service lives.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `route` label of a request no route matched (404s, 405s).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Series handles one thread keeps at most; past that (a bug making labels unbounded), requests
/// are still recorded, through the registry's slower lookup.
const MAX_CACHED_SERIES: usize = 2048;

/// The process-wide recorder, installed (with its upkeep thread) on first use.
pub fn handle() -> &'static Registries {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let registries = REGISTRIES.get_or_init(|| Registries {
        process: new_registry(),
        services: RwLock::new(Services::default()),
    });
    INSTALLED.call_once(|| {
        // Another recorder may already be installed (a test harness); ours still renders.
        let _ = metrics::set_global_recorder(registries);
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    registries.run_upkeep();
                }
            })
            .ok();
    });
    registries
}

/// One Prometheus registry, with the latency buckets every duration histogram uses.
fn new_registry() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration_seconds".to_owned()),
            LATENCY_BUCKETS,
        )
        .expect("static bucket list is not empty")
        .build_recorder()
}

/// The process's recorder: a Prometheus registry per service, chosen by each series' `service`
/// label when the series is registered, and one for the series that name no service (see the
/// module docs).
pub struct Registries {
    process: PrometheusRecorder,
    services: RwLock<Services>,
}

/// The services' registries and every description given so far, which a registry created
/// later receives too; one lock, so a description and a new registry cannot miss each other.
#[derive(Default)]
struct Services {
    registries: Vec<(Box<str>, PrometheusRecorder)>,
    descriptions: Vec<Description>,
}

struct Description {
    kind: Kind,
    name: KeyName,
    unit: Option<Unit>,
    text: SharedString,
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Description {
    fn apply(&self, registry: &PrometheusRecorder) {
        let (name, unit, text) = (self.name.clone(), self.unit, self.text.clone());
        match self.kind {
            Kind::Counter => registry.describe_counter(name, unit, text),
            Kind::Gauge => registry.describe_gauge(name, unit, text),
            Kind::Histogram => registry.describe_histogram(name, unit, text),
        }
    }
}

impl std::fmt::Debug for Registries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services = self.services();
        let names: Vec<&str> = services
            .registries
            .iter()
            .map(|(name, _)| &**name)
            .collect();
        f.debug_struct("Registries")
            .field("services", &names)
            .finish_non_exhaustive()
    }
}

impl Registries {
    /// The Prometheus text of `service`'s series, then of the process's (see the module docs),
    /// as they are now ([`render`] samples the [`Sampled`] sources first).
    pub fn render(&self, service: &str) -> String {
        // Rendered outside the lock, which a service's first series waits for.
        let own = self
            .services()
            .registries
            .iter()
            .find(|(name, _)| **name == *service)
            .map(|(_, registry)| registry.handle());
        let mut text = own.map(|own| own.render()).unwrap_or_default();
        text.push_str(&self.process.handle().render());
        text
    }

    fn services(&self) -> std::sync::RwLockReadGuard<'_, Services> {
        self.services
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `register` on the registry of `key`'s service, created on the service's first
    /// series.
    fn registry_of<T>(&self, key: &Key, register: impl Fn(&PrometheusRecorder) -> T) -> T {
        let Some(service) = key
            .labels()
            .find(|label| label.key() == SERVICE_LABEL)
            .map(metrics::Label::value)
        else {
            return register(&self.process);
        };
        let find = |services: &Services| {
            services
                .registries
                .iter()
                .position(|(name, _)| **name == *service)
        };
        {
            let services = self.services();
            if let Some(index) = find(&services) {
                return register(&services.registries[index].1);
            }
        }
        let mut services = self
            .services
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = find(&services).unwrap_or_else(|| {
            let registry = new_registry();
            for description in &services.descriptions {
                description.apply(&registry);
            }
            services.registries.push((service.into(), registry));
            services.registries.len() - 1
        });
        register(&services.registries[index].1)
    }

    /// Describes a family in every registry, now and to come; the first description of a name
    /// is the one kept (as a Prometheus registry does), so a service starting again adds nothing.
    fn describe(&self, description: Description) {
        let mut services = self
            .services
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if services
            .descriptions
            .iter()
            .any(|known| known.name == description.name)
        {
            return;
        }
        description.apply(&self.process);
        for (_, registry) in &services.registries {
            description.apply(registry);
        }
        services.descriptions.push(description);
    }

    /// Folds histogram samples into their buckets, so they do not pile up between scrapes.
    fn run_upkeep(&self) {
        self.process.handle().run_upkeep();
        for (_, registry) in &self.services().registries {
            registry.handle().run_upkeep();
        }
    }
}

impl metrics::Recorder for Registries {
    fn describe_counter(&self, name: KeyName, unit: Option<Unit>, text: SharedString) {
        self.describe(Description {
            kind: Kind::Counter,
            name,
            unit,
            text,
        });
    }

    fn describe_gauge(&self, name: KeyName, unit: Option<Unit>, text: SharedString) {
        self.describe(Description {
            kind: Kind::Gauge,
            name,
            unit,
            text,
        });
    }

    fn describe_histogram(&self, name: KeyName, unit: Option<Unit>, text: SharedString) {
        self.describe(Description {
            kind: Kind::Histogram,
            name,
            unit,
            text,
        });
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.registry_of(key, |registry| registry.register_counter(key, metadata))
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.registry_of(key, |registry| registry.register_gauge(key, metadata))
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.registry_of(key, |registry| registry.register_histogram(key, metadata))
    }
}

/// Re-exported so service crates register their own series (`platform::metrics::counter!`)
/// without a dependency on `metrics` of their own. Call [`handle`] before registering, or the
/// handle records nowhere, and label every series with its `service` ([`SERVICE_LABEL`]), or
/// it is not its service's.
pub use ::metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// A source of gauges whose values are read when `/metrics` is rendered (see [`render`]).
pub trait Sampled: Send + Sync {
    /// Sets the source's gauges to its current state; called on every render, so it must be
    /// cheap (atomic loads, not I/O).
    fn sample(&self);
}

/// The sources [`render`] samples, held weakly: a source stops being sampled when its owner
/// drops it (a service's router, at shutdown), so nothing here keeps a pool alive.
static SAMPLED: Mutex<Vec<Weak<dyn Sampled>>> = Mutex::new(Vec::new());

/// Has `source` sampled before every [`render`] for as long as it lives elsewhere.
pub fn sample_at_render(source: &Arc<dyn Sampled>) {
    handle();
    let mut sampled = SAMPLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    sampled.retain(|source| source.strong_count() > 0);
    sampled.push(Arc::downgrade(source));
}

/// The Prometheus text of `service`'s series (and of the process's, see the module docs), after
/// sampling every live [`Sampled`] source: what `service`'s `/metrics` answers.
pub fn render(service: &str) -> String {
    let live: Vec<Arc<dyn Sampled>> = {
        let mut sampled = SAMPLED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sampled.retain(|source| source.strong_count() > 0);
        sampled.iter().filter_map(Weak::upgrade).collect()
    };
    // Outside the lock: a source is free to do what it likes, registering another included.
    for source in &live {
        source.sample();
    }
    handle().render(service)
}

/// Middleware recording request count and latency by route template and status, and the
/// requests in flight (for `axum::middleware::from_fn`; [`layer`] does the same with less
/// per-request work and is what the common service layers use).
pub async fn record(service: &'static str, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let _in_flight = InFlight::start(service);
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    observe(
        service,
        &method,
        route,
        response.status(),
        started.elapsed(),
    );
    response
}

/// The request metrics of [`record`] as a tower layer, for `Router::layer`: it neither boxes a
/// `Next` nor clones the inner service on every request, as `from_fn` does.
pub fn layer(service: &'static str) -> RecordLayer {
    RecordLayer { service }
}

/// See [`layer`].
#[derive(Debug, Clone, Copy)]
pub struct RecordLayer {
    service: &'static str,
}

impl<S> tower::Layer<S> for RecordLayer {
    type Service = Record<S>;

    fn layer(&self, inner: S) -> Record<S> {
        Record {
            service: self.service,
            inner,
        }
    }
}

/// The service [`RecordLayer`] wraps around a route.
#[derive(Debug, Clone)]
pub struct Record<S> {
    service: &'static str,
    inner: S,
}

impl<S> tower::Service<Request> for Record<S>
where
    S: tower::Service<Request, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let service = self.service;
        let method = method_index(request.method());
        let route = request.extensions().get::<MatchedPath>().cloned();
        let in_flight = InFlight::start(service);
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            drop(in_flight);
            let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
            observe_indexed(service, method, route, response.status(), started.elapsed());
            Ok(response)
        })
    }
}

/// The `method` label: the standard methods by name, anything else `OTHER`, so a client
/// inventing methods cannot grow the number of series.
pub fn method_label(method: &Method) -> &'static str {
    METHOD_LABELS[usize::from(method_index(method))]
}

const METHOD_LABELS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER",
];

fn method_index(method: &Method) -> u8 {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Records one answered request in `http_requests_total` and `http_request_duration_seconds`,
/// labelled `service`, `method` (see [`method_label`]), `route` and `status`.
///
/// `route` must come from a bounded set (a route template or prefix, never the raw path).
pub fn observe(
    service: &'static str,
    method: &Method,
    route: &str,
    status: StatusCode,
    elapsed: Duration,
) {
    observe_indexed(service, method_index(method), route, status, elapsed);
}

fn observe_indexed(
    service: &'static str,
    method: u8,
    route: &str,
    status: StatusCode,
    elapsed: Duration,
) {
    let status = status.as_u16();
    let seconds = elapsed.as_secs_f64();
    let key = series_hash(service, method, route, status);
    let recorded = SERIES.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return false;
        };
        let series = match cache.find(key, service, method, route, status) {
            Some(series) => series,
            None => {
                if cache.len >= MAX_CACHED_SERIES {
                    return false;
                }
                cache.insert(key, service, method, route, status)
            }
        };
        series.count.increment(1);
        series.latency.record(seconds);
        true
    });
    if !recorded {
        let series = Series::register(service, method, route, status);
        series.count.increment(1);
        series.latency.record(seconds);
    }
}

/// Counts one request in `http_requests_in_flight{service}` until dropped, so a request whose
/// client went away mid-way is not counted forever.
#[derive(Debug)]
#[must_use = "the request counts as in flight only while this guard lives"]
pub struct InFlight(Gauge);

impl InFlight {
    pub fn start(service: &'static str) -> Self {
        let gauge = IN_FLIGHT
            .with(|gauges| {
                let mut gauges = gauges.try_borrow_mut().ok()?;
                if let Some((_, gauge)) = gauges.iter().find(|(name, _)| *name == service) {
                    return Some(gauge.clone());
                }
                let gauge = in_flight_gauge(service);
                gauges.push((service, gauge.clone()));
                Some(gauge)
            })
            .unwrap_or_else(|| in_flight_gauge(service));
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

fn in_flight_gauge(service: &'static str) -> Gauge {
    handle();
    metrics::gauge!("http_requests_in_flight", "service" => service)
}

/// The handles of one (service, method, route, status).
struct Series {
    count: Counter,
    latency: Histogram,
}

impl Series {
    fn register(service: &'static str, method: u8, route: &str, status: u16) -> Self {
        // Handles taken before the recorder exists would record nowhere.
        handle();
        let labels = [
            ("service", service.to_owned()),
            ("method", METHOD_LABELS[usize::from(method)].to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        Self {
            count: metrics::counter!("http_requests_total", &labels),
            latency: metrics::histogram!("http_request_duration_seconds", &labels),
        }
    }
}

struct Entry {
    service: &'static str,
    method: u8,
    status: u16,
    route: Box<str>,
    series: Series,
}

/// One thread's series handles, by a hash of their labels; entries sharing a hash are told
/// apart by comparing the labels, so a collision costs a comparison, never a wrong series.
#[derive(Default)]
struct SeriesCache {
    entries: HashMap<u64, Vec<Entry>, BuildHasherDefault<PassThrough>>,
    len: usize,
}

impl SeriesCache {
    fn find(
        &self,
        key: u64,
        service: &'static str,
        method: u8,
        route: &str,
        status: u16,
    ) -> Option<&Series> {
        self.entries
            .get(&key)?
            .iter()
            .find(|entry| {
                entry.method == method
                    && entry.status == status
                    && entry.service == service
                    && *entry.route == *route
            })
            .map(|entry| &entry.series)
    }

    fn insert(
        &mut self,
        key: u64,
        service: &'static str,
        method: u8,
        route: &str,
        status: u16,
    ) -> &Series {
        self.len += 1;
        let bucket = self.entries.entry(key).or_default();
        bucket.push(Entry {
            service,
            method,
            status,
            route: route.into(),
            series: Series::register(service, method, route, status),
        });
        &bucket[bucket.len() - 1].series
    }
}

thread_local! {
    static SERIES: RefCell<SeriesCache> = RefCell::new(SeriesCache::default());
    static IN_FLIGHT: RefCell<Vec<(&'static str, Gauge)>> = const { RefCell::new(Vec::new()) };
}

/// FxHash-style mixing of the labels: a few instructions per word, enough to spread a few
/// hundred keys (the table compares the labels anyway).
fn series_hash(service: &str, method: u8, route: &str, status: u16) -> u64 {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut hash = 0u64;
    let mut add = |word: u64| hash = (hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    for text in [service, route] {
        let mut chunks = text.as_bytes().chunks_exact(8);
        for chunk in &mut chunks {
            add(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        add(u64::from_le_bytes(tail) ^ ((text.len() as u64) << 56));
    }
    add((u64::from(method) << 16) | u64::from(status));
    hash
}

/// The map's hasher: the keys are hashes already.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(text: &str, route: &str, method: &str, status: &str) -> f64 {
        text.lines()
            .find(|line| {
                line.starts_with("http_requests_total{")
                    && line.contains(r#"service="metrics-unit""#)
                    && line.contains(&format!(r#"route="{route}""#))
                    && line.contains(&format!(r#"method="{method}""#))
                    && line.contains(&format!(r#"status="{status}""#))
            })
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    }

    #[test]
    fn cached_series_count_into_the_same_numbers_as_fresh_ones() {
        let service = "metrics-unit";
        let ok = StatusCode::OK;
        let elapsed = Duration::from_millis(1);
        for _ in 0..3 {
            observe(service, &Method::GET, "/things/{id}", ok, elapsed);
        }
        observe(service, &Method::GET, "/things", ok, elapsed);
        observe(service, &Method::POST, "/things/{id}", ok, elapsed);
        observe(
            service,
            &Method::GET,
            "/things/{id}",
            StatusCode::NOT_FOUND,
            elapsed,
        );
        let from_another_thread = std::thread::spawn(move || {
            observe(service, &Method::GET, "/things/{id}", ok, elapsed);
        });
        from_another_thread.join().unwrap();

        let text = handle().render(service);
        assert_eq!(count(&text, "/things/{id}", "GET", "200"), 4.0, "{text}");
        assert_eq!(count(&text, "/things", "GET", "200"), 1.0);
        assert_eq!(count(&text, "/things/{id}", "POST", "200"), 1.0);
        assert_eq!(count(&text, "/things/{id}", "GET", "404"), 1.0);
    }

    #[test]
    fn unusual_methods_share_one_label() {
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_label(&custom), "OTHER");
        assert_eq!(method_label(&Method::CONNECT), "OTHER");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let service = "metrics-unit";
        let elapsed = Duration::from_millis(1);
        observe(service, &custom, "/odd", StatusCode::OK, elapsed);
        let other = Method::from_bytes(b"BREW").unwrap();
        observe(service, &other, "/odd", StatusCode::OK, elapsed);
        let text = handle().render(service);
        assert_eq!(count(&text, "/odd", "OTHER", "200"), 2.0, "{text}");
        assert!(!text.contains("PURGE") && !text.contains("BREW"));
    }

    #[test]
    fn similar_labels_do_not_share_a_hash() {
        let a = series_hash("svc", 0, "/a/b", 200);
        assert_ne!(a, series_hash("svc", 0, "/a/c", 200));
        assert_ne!(a, series_hash("svc", 1, "/a/b", 200));
        assert_ne!(a, series_hash("svc", 0, "/a/b", 201));
        assert_ne!(a, series_hash("sv", 0, "c/a/b", 200));
        assert_ne!(a, series_hash("other", 0, "/a/b", 200));
    }

    #[test]
    fn in_flight_requests_are_counted_until_the_guard_drops() {
        let gauge = || {
            handle()
                .render("metrics-in-flight")
                .lines()
                .find(|line| {
                    line.starts_with("http_requests_in_flight{")
                        && line.contains(r#"service="metrics-in-flight""#)
                })
                .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let first = InFlight::start("metrics-in-flight");
        let second = InFlight::start("metrics-in-flight");
        assert_eq!(gauge(), 2.0);
        drop(first);
        drop(second);
        assert_eq!(gauge(), 0.0);
    }

    #[test]
    fn each_service_renders_its_own_series_and_the_process_its_own_on_every_port() {
        handle();
        metrics::describe_counter!("registry_unit_total", "Things counted per service");
        metrics::counter!("registry_unit_total", "service" => "registry-a").increment(2);
        metrics::counter!("registry_unit_total", "service" => "registry-b").increment(3);
        metrics::gauge!("registry_unit_b_only", "service" => "registry-b").set(1.0);
        metrics::gauge!("registry_unit_process").set(7.0);

        let a = handle().render("registry-a");
        assert!(
            a.contains("registry_unit_total{service=\"registry-a\"} 2"),
            "{a}"
        );
        assert!(!a.contains("registry-b"), "{a}");
        // A family's help and type come only with its samples.
        assert!(
            a.contains("# HELP registry_unit_total Things counted per service"),
            "{a}"
        );
        assert!(!a.contains("registry_unit_b_only"), "{a}");
        // Described before registry-b had a series: its new registry has the description too.
        let b = handle().render("registry-b");
        assert!(
            b.contains("# HELP registry_unit_total Things counted per service"),
            "{b}"
        );
        assert!(
            b.contains("registry_unit_total{service=\"registry-b\"} 3"),
            "{b}"
        );
        assert!(
            b.contains("registry_unit_b_only{service=\"registry-b\"} 1"),
            "{b}"
        );
        assert!(!b.contains("registry-a"), "{b}");
        for text in [&a, &b, &handle().render("registry-none")] {
            assert!(text.contains("registry_unit_process 7"), "{text}");
        }
    }

    #[test]
    fn histograms_of_a_service_get_the_latency_buckets() {
        handle();
        metrics::histogram!("registry_unit_duration_seconds", "service" => "registry-h")
            .record(0.002);
        let text = handle().render("registry-h");
        assert!(
            text.contains(
                "registry_unit_duration_seconds_bucket{service=\"registry-h\",le=\"0.0025\"} 1"
            ),
            "{text}"
        );
    }
}
