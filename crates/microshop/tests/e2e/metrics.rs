//! The metrics an operator relies on are on every service's `/metrics` after a real order flow:
//! requests by route and status, latency, in-flight requests, breakers per upstream, the outbox,
//! consumer lag, database pools, login failures and rate-limit rejections; and each port shows
//! only its own service's series, although every service runs in one process.
//!
//! A service's registry is shared by every stack this test binary starts (they run in one
//! process, and their services have the same names); so the checks are about series being there
//! (and counters having counted at least this test's events), never about exact values another
//! test could move.

use std::collections::BTreeMap;
use std::time::Duration;

use microshop::Stack;
use microshop::settings::{self, Invocation, Service};
use serde_json::{Value, json};

/// The embedded stack, kept whole so every service's own address can be scraped.
struct Shop {
    stack: Option<Stack>,
    client: reqwest::Client,
    data: tempfile::TempDir,
}

impl Shop {
    async fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec!["microshop".into(), "up".into()];
        for service in microshop::EMBEDDED_SERVICES {
            args.extend([format!("--{}-port", service.name()), "0".into()]);
        }
        args.extend(["--data-dir".into(), data.path().to_str().unwrap().into()]);
        args.extend(["--payments-decline-rate".into(), "0".into()]);
        let Invocation::Up(settings) =
            settings::parse(args.iter().map(Into::into).collect()).unwrap()
        else {
            panic!("expected up");
        };
        Self {
            stack: Some(Stack::start(&settings).await.unwrap()),
            client: platform::client::http_client(),
            data,
        }
    }

    fn url(&self, service: Service, path: &str) -> String {
        format!("{}{path}", self.stack.as_ref().unwrap().url(service))
    }

    /// `POST` through the gateway, as `token` when given.
    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(Service::Gateway, path))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post(
            "/auth/login",
            None,
            json!({"username": username, "password": password}),
        )
        .await
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 200, "login of {username}");
        let tokens: Value = response.json().await.unwrap();
        tokens["access_token"].as_str().unwrap().to_owned()
    }

    async fn admin_token(&self) -> String {
        let password = std::fs::read_to_string(self.data.path().join("admin-password")).unwrap();
        self.token("admin", password.trim()).await
    }

    /// The admin (`admin`, a token) adds a product, which `buyer` orders and pays for (the bank
    /// declines nothing here): the order.
    async fn order_new_product(&self, admin: &str, buyer: &str, name: &str) -> Value {
        let product = self
            .post(
                "/products",
                Some(admin),
                json!({"name": name, "price_cents": 1250, "stock": 5}),
            )
            .await;
        assert_eq!(product.status(), 201);
        let product: Value = product.json().await.unwrap();
        let order = self
            .post(
                "/orders",
                Some(buyer),
                json!({
                    "items": [{"product_id": product["id"], "quantity": 1}],
                    "shipping_address": "4 rue des Mesures, Lyon"
                }),
            )
            .await;
        assert_eq!(order.status(), 201);
        let order: Value = order.json().await.unwrap();
        assert_eq!(order["status"], "paid", "{order}");
        order
    }

    /// Waits until the user of `token` has a notification about `order_id`.
    async fn wait_notified(&self, token: &str, order_id: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notifications: Value = self
                .client
                .get(self.url(Service::Gateway, "/notifications"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let items = notifications["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if items.iter().any(|item| item["order_id"] == order_id) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no notification of order {order_id}: {notifications}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn scrape(&self, service: Service) -> Scrape {
        let response = self
            .client
            .get(self.url(service, "/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}'s /metrics", service.name());
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        Scrape::parse(service, &response.text().await.unwrap())
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        if let Some(stack) = self.stack.take() {
            stack.shutdown_token().cancel();
        }
    }
}

/// One sample of a Prometheus text answer.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// One service's `/metrics`, parsed.
struct Scrape {
    service: &'static str,
    samples: Vec<Sample>,
}

impl Scrape {
    fn parse(service: Service, text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| parse_sample(line).unwrap_or_else(|| panic!("unreadable line {line:?}")))
            .collect();
        Self {
            service: service.name(),
            samples,
        }
    }

    /// The samples of `name` whose labels include every pair of `labels`.
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|sample| {
                sample.name == name
                    && labels.iter().all(|(key, value)| {
                        sample.labels.get(*key).map(String::as_str) == Some(*value)
                    })
            })
            .collect()
    }

    /// The one sample of `name` with `labels`, which must be there.
    fn expect(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.find(name, labels);
        assert!(
            !found.is_empty(),
            "{}'s /metrics has no {name} with {labels:?}; it has: {:?}",
            self.service,
            self.names()
        );
        found.iter().map(|sample| sample.value).sum()
    }

    /// The samples not labelled with this service: another service's, or the process's.
    fn foreign(&self) -> Vec<String> {
        self.samples
            .iter()
            .filter(|sample| sample.labels.get("service").map(String::as_str) != Some(self.service))
            .map(|sample| format!("{}{:?}", sample.name, sample.labels))
            .collect()
    }

    fn names(&self) -> std::collections::BTreeSet<&str> {
        self.samples
            .iter()
            .map(|sample| sample.name.as_str())
            .collect()
    }
}

/// `name{key="value",…} value` (label values may hold `{`, `}`, `,` and escaped quotes).
fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            inner = inner.trim_start_matches(',');
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after_key) = inner.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after_key.char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    (index, '"') => break index,
                    (_, other) => value.push(other),
                }
            };
            labels.insert(key.to_owned(), value);
            inner = &after_key[end + 1..];
        }
    }
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// The services with a database (and so pool gauges), and those with an outbox.
const WITH_DATABASE: &[&str] = &[
    "auth", "users", "orders", "products", "payments", "notifier", "cars", "agenda", "hits",
];
const WITH_OUTBOX: &[&str] = &["auth", "orders"];

#[tokio::test]
async fn every_service_exposes_the_operator_metrics_after_an_order_flow() {
    let shop = Shop::start().await;

    // A customer registers, mistypes the password once, then signs in.
    let registered = shop
        .post(
            "/auth/register",
            None,
            json!({"username": "metrics-carol", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let refused = shop.login("metrics-carol", "wrong horse battery").await;
    assert_eq!(refused.status(), 401);
    let customer = shop.token("metrics-carol", "correct horse battery").await;
    // Someone tries a name nobody has until the throttle locks it.
    for _ in 0..5 {
        let refused = shop.login("metrics-nobody", "any horse battery").await;
        assert_eq!(refused.status(), 401);
    }
    let locked = shop.login("metrics-nobody", "any horse battery").await;
    assert_eq!(locked.status(), 429);

    // The admin adds a product, which the customer orders and pays for.
    let admin = shop.admin_token().await;
    let order = shop
        .order_new_product(&admin, &customer, "Metrics lamp")
        .await;
    shop.wait_notified(&customer, order["id"].as_str().unwrap())
        .await;

    let mut scrapes = BTreeMap::new();
    for &service in microshop::EMBEDDED_SERVICES {
        let scrape = shop.scrape(service).await;
        // The scrape itself is a request in flight of the service scraped.
        assert!(
            scrape.expect("http_requests_in_flight", &[("service", service.name())]) >= 1.0,
            "{} counts its own scrape in flight",
            service.name()
        );
        scrapes.insert(service.name(), scrape);
    }

    // Requests by route template and status, counted and timed, at the service and the gateway.
    let orders = &scrapes["orders"];
    let placed = [
        ("service", "orders"),
        ("method", "POST"),
        ("route", "/orders"),
        ("status", "201"),
    ];
    assert!(orders.expect("http_requests_total", &placed) >= 1.0);
    assert!(orders.expect("http_request_duration_seconds_count", &placed) >= 1.0);
    orders.expect(
        "http_request_duration_seconds_bucket",
        &[("service", "orders"), ("route", "/orders"), ("le", "+Inf")],
    );
    let gateway = &scrapes["gateway"];
    let failed_login = [("service", "gateway"), ("status", "401")];
    assert!(gateway.expect("http_requests_total", &failed_login) >= 1.0);
    assert!(
        scrapes["auth"].expect(
            "http_requests_total",
            &[
                ("service", "auth"),
                ("route", "/auth/login"),
                ("status", "401")
            ]
        ) >= 1.0
    );

    // Breakers: orders' to products and payments, the gateway's per upstream instance.
    for upstream in ["products", "payments"] {
        let state = orders.expect("circuit_breaker_state", &[("upstream", upstream)]);
        assert!((0.0..=2.0).contains(&state), "{upstream}: {state}");
    }
    let gateway_breakers: Vec<&str> = gateway
        .find("circuit_breaker_state", &[])
        .iter()
        .filter_map(|sample| sample.labels.get("upstream").map(String::as_str))
        .collect();
    for &upstream in microshop::EMBEDDED_SERVICES {
        if upstream == Service::Gateway {
            continue;
        }
        // One breaker per instance, named `<service>@<its URL>`.
        let instance = format!("{}@{}", upstream.name(), shop.url(upstream, ""));
        assert!(
            gateway_breakers
                .iter()
                .any(|name| name.trim_end_matches('/') == instance),
            "no gateway breaker for {instance}: {gateway_breakers:?}"
        );
    }

    // The outbox of each service that publishes, and the consumers' lag.
    for service in WITH_OUTBOX {
        let scrape = &scrapes[service];
        assert!(scrape.expect("outbox_pending", &[("service", service)]) >= 0.0);
        assert!(scrape.expect("outbox_oldest_pending_seconds", &[("service", service)]) >= 0.0);
    }
    for (consumer, topic) in [("users", "user-events"), ("notifier", "order-events")] {
        let lag = scrapes[consumer].find("events_consumer_lag", &[("topic", topic)]);
        assert!(
            !lag.is_empty(),
            "{consumer}'s /metrics has no lag on {topic}"
        );
        assert!(
            lag.iter()
                .all(|sample| sample.labels.contains_key("partition"))
        );
    }

    // Each database pool: connections by state, and its ceiling.
    for service in WITH_DATABASE {
        let scrape = &scrapes[service];
        for state in ["idle", "in_use"] {
            let open = scrape.expect(
                "db_pool_connections",
                &[("service", service), ("state", state)],
            );
            assert!(open >= 0.0, "{service} {state}: {open}");
        }
        let max = scrape.expect("db_pool_max_connections", &[("service", service)]);
        assert!(max >= 1.0, "{service}'s pool allows {max} connections");
    }

    // Login failures by reason, each refusal above counted once under its own.
    let auth = &scrapes["auth"];
    for (reason, at_least) in [
        ("wrong_password", 1.0),
        ("unknown_user", 5.0),
        ("locked_out", 1.0),
    ] {
        let counted = auth.expect("auth_login_failures_total", &[("reason", reason)]);
        assert!(counted >= at_least, "{reason}: {counted}");
    }
    assert!(
        auth.find("auth_login_failures_total", &[])
            .iter()
            .all(|sample| sample.labels.keys().eq(["reason", "service"])),
        "login failures are labelled by reason alone (and auth's name)"
    );

    // The gateway's rate-limit rejections, per scope, before any rejection.
    for scope in ["ip", "user"] {
        gateway.expect("rate_limit_rejections_total", &[("scope", scope)]);
    }
}

#[tokio::test]
async fn each_port_shows_only_its_own_service_s_series() {
    let shop = Shop::start().await;
    // Requests to several services, directly and through the gateway, and a saga across them.
    let refused = shop.login("metrics-nobody", "any horse battery").await;
    assert_eq!(refused.status(), 401);
    let admin = shop.admin_token().await;
    shop.order_new_product(&admin, &admin, "Own series lamp")
        .await;
    for (service, path) in [
        (Service::Products, "/products"),
        (Service::Gateway, "/hits"),
    ] {
        let answer = shop.client.get(shop.url(service, path)).send().await;
        assert_eq!(answer.unwrap().status(), 200, "{path}");
    }

    let mut scrapes = BTreeMap::new();
    for &service in microshop::EMBEDDED_SERVICES {
        let scrape = shop.scrape(service).await;
        assert!(
            scrape.foreign().is_empty(),
            "{}'s /metrics shows series that are not its own: {:?}",
            service.name(),
            scrape.foreign()
        );
        scrapes.insert(service.name(), scrape);
    }
    // Each has its own, then: what it served, and what it holds.
    let served = |service: &str, route: &str| {
        scrapes[service].expect(
            "http_requests_total",
            &[("service", service), ("route", route)],
        )
    };
    assert!(served("products", "/products") >= 1.0);
    assert!(served("orders", "/orders") >= 1.0);
    assert!(served("auth", "/auth/login") >= 2.0);
    assert!(served("hits", "/hits") >= 1.0);
    assert!(scrapes["gateway"].expect("http_requests_total", &[("status", "401")]) >= 1.0);
    scrapes["orders"].expect("circuit_breaker_state", &[("upstream", "products")]);
    assert!(scrapes["gateway"].find("circuit_breaker_state", &[]).len() >= 9);
    scrapes["payments"].expect("payments_charges_total", &[("outcome", "approved")]);
    // …and nothing of the others': products has no orders series, orders no products ones.
    for (service, other) in [
        ("products", "orders"),
        ("orders", "products"),
        ("gateway", "auth"),
    ] {
        assert!(
            scrapes[service]
                .find("http_requests_total", &[("service", other)])
                .is_empty()
        );
    }
}

#[test]
fn the_sample_reader_reads_labels_holding_braces_commas_and_quotes() {
    let sample = parse_sample(
        r#"http_requests_total{route="/orders/{id}",note="a,b \"c\"",service="orders"} 3"#,
    )
    .unwrap();
    assert_eq!(sample.name, "http_requests_total");
    assert_eq!(sample.labels["route"], "/orders/{id}");
    assert_eq!(sample.labels["note"], r#"a,b "c""#);
    assert_eq!(sample.labels["service"], "orders");
    assert_eq!(sample.value, 3.0);
    let bare = parse_sample("process_up 1").unwrap();
    assert!(bare.labels.is_empty());
    assert_eq!(bare.value, 1.0);
    assert!(parse_sample("broken{label=\"x\" 1").is_none());
}
