//! Starting orders for a test, with the real products and payments services (and users when a
//! test needs profiles) beside it, and typed shortcuts for their endpoints.
//!
//! Every service of a test gets the same wiring, as in embedded mode: one in-process bus, one
//! verifier trusting the test's keys, one internal token, each over its own fresh database: a
//! SQLite file in the test's temporary directory, or a PostgreSQL database of its own when
//! `MICROSHOP_TEST_DATABASE=postgres`. A consumer group `test` records everything published on
//! `order-events`, so tests can check the events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use platform::events::{Event, Handled, ORDER_EVENTS, consumer};
use platform::{ServiceEnv, Wiring};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::{TestDatabase, TestKeys, TestUser};
use tokio_util::sync::CancellationToken;

/// What a test may change before the stack starts.
pub struct Options {
    /// The bank's decline rate at start (0: every charge approved).
    pub decline_rate: f64,
    /// Start the users service (for the default shipping address).
    pub with_users: bool,
    /// Point orders at a products URL where nothing listens.
    pub products_down: bool,
    /// Point orders at a users URL where nothing listens (instead of none at all).
    pub users_down: bool,
    /// Adjust orders' configuration.
    pub configure: Box<dyn FnOnce(&mut orders::Config)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            decline_rate: 0.0,
            with_users: false,
            products_down: false,
            users_down: false,
            configure: Box::new(|_| {}),
        }
    }
}

/// A running orders service with its neighbours.
pub struct Stack {
    pub orders: String,
    pub products: String,
    pub payments: String,
    pub users: Option<String>,
    pub client: reqwest::Client,
    pub keys: TestKeys,
    pub admin: TestUser,
    /// The services' shared secret, to call internal routes as orders does.
    pub internal_token: platform::auth::InternalToken,
    events: Arc<Mutex<Vec<Event>>>,
    shutdown: CancellationToken,
    /// Each service's database by service name, dropped after the services stop.
    databases: HashMap<&'static str, TestDatabase>,
    _dir: TempDir,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The usual stack: every charge approved, no users service.
pub async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

/// The usual stack with orders' configuration adjusted.
pub async fn spawn_configured(configure: impl FnOnce(&mut orders::Config) + 'static) -> Stack {
    spawn_with(Options {
        configure: Box::new(configure),
        ..Options::default()
    })
    .await
}

pub async fn spawn_with(options: Options) -> Stack {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let keys = TestKeys::new();
    let (mut wiring, _bus) = test_support::wiring(&keys);
    let shutdown = wiring.shutdown.clone();
    let env = ServiceEnv {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };

    let products_listener = bind().await;
    let payments_listener = bind().await;
    let users_listener = if options.with_users {
        Some(bind().await)
    } else {
        None
    };
    let orders_listener = bind().await;
    let url =
        |listener: &tokio::net::TcpListener| format!("http://{}", listener.local_addr().unwrap());
    let products = url(&products_listener);
    let payments = url(&payments_listener);
    let users = users_listener.as_ref().map(url);
    let orders = url(&orders_listener);
    let mut databases = HashMap::new();
    for service in ["products", "payments", "users", "orders"] {
        if service != "users" || options.with_users {
            databases.insert(service, TestDatabase::create(service, dir.path()).await);
        }
    }
    let database_url = |service: &str| databases[service].config_url();
    wiring.urls.products = if options.products_down {
        closed_port_url().await
    } else {
        products.clone()
    };
    wiring.urls.payments = payments.clone();
    wiring.urls.users = if options.users_down {
        closed_port_url().await
    } else {
        users.clone().unwrap_or_else(String::new)
    };
    wiring.urls.orders = orders.clone();

    let events = Arc::new(Mutex::new(Vec::new()));
    let recorded = events.clone();
    let _recorder = wiring.bus.consume(
        ORDER_EVENTS,
        "test",
        consumer::handler(move |event: Event| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(event);
                Handled::Done
            }
        }),
        shutdown.clone(),
    );

    let products_config = products::Config {
        seed_catalogue: false,
        database_url: database_url("products"),
        ..products::Config::default()
    };
    serve(
        "products",
        products_listener,
        products::app(&products_config, &env, &wiring)
            .await
            .unwrap(),
        &wiring,
    );
    let payments_config = payments::Config {
        decline_rate: options.decline_rate.to_string().parse().unwrap(),
        database_url: database_url("payments"),
        ..payments::Config::default()
    };
    serve(
        "payments",
        payments_listener,
        payments::app(&payments_config, &env, &wiring)
            .await
            .unwrap(),
        &wiring,
    );
    if let Some(listener) = users_listener {
        serve(
            "users",
            listener,
            users::app(
                &users::Config {
                    database_url: database_url("users"),
                    ..users::Config::default()
                },
                &env,
                &wiring,
            )
            .await
            .unwrap(),
            &wiring,
        );
    }
    let mut orders_config = orders::Config {
        // Fast sweeps, so expiry and retried calls show up within a test.
        sweep_interval_ms: 100,
        database_url: database_url("orders"),
        ..orders::Config::default()
    };
    (options.configure)(&mut orders_config);
    serve(
        "orders",
        orders_listener,
        orders::app(&orders_config, &env, &wiring).await.unwrap(),
        &wiring,
    );

    Stack {
        orders,
        products,
        payments,
        users,
        client: platform::client::http_client(),
        admin: keys.admin(),
        internal_token: wiring.internal_token.clone(),
        keys,
        events,
        shutdown,
        databases,
        _dir: dir,
    }
}

async fn bind() -> tokio::net::TcpListener {
    platform::server::bind("127.0.0.1", 0).await.unwrap()
}

/// A URL where nothing listens (a port bound, then freed).
async fn closed_port_url() -> String {
    let listener = bind().await;
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn serve(
    name: &'static str,
    listener: tokio::net::TcpListener,
    app: axum::Router,
    wiring: &Wiring,
) {
    platform::server::spawn(name, listener, app, wiring.shutdown.clone()).unwrap();
}

/// An order body with `items` as `(product_id, quantity)` and an address.
pub fn order_body(items: &[(i64, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(product_id, quantity)| json!({"product_id": product_id, "quantity": quantity}))
        .collect();
    json!({"items": items, "shipping_address": "1 rue de la Paix, 75002 Paris"})
}

impl Stack {
    pub fn customer(&self, username: &str) -> TestUser {
        self.keys.user(username)
    }

    // Products and payments, as an admin sets them up.

    /// Creates a product; returns its id.
    pub async fn product(&self, name: &str, price_cents: i64, stock: i64) -> i64 {
        let response = self
            .client
            .post(format!("{}/products", self.products))
            .bearer_auth(&self.admin.token)
            .json(&json!({"name": name, "price_cents": price_cents, "stock": stock}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "creating a product");
        response.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn stock(&self, product_id: i64) -> i64 {
        let response = self
            .client
            .get(format!("{}/products/{product_id}", self.products))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["stock"]
            .as_i64()
            .unwrap()
    }

    pub async fn set_stock(&self, product_id: i64, stock: i64) {
        let response = self
            .client
            .patch(format!("{}/products/{product_id}", self.products))
            .bearer_auth(&self.admin.token)
            .json(&json!({"stock": stock}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "setting stock");
    }

    /// Sets the bank's behaviour: decline rate and outage (`none`, `error`, `hang`).
    pub async fn bank(&self, decline_rate: f64, outage: &str) {
        self.bank_with_latency(decline_rate, 0, outage).await;
    }

    /// Sets the bank's behaviour, with milliseconds added before every payment answer.
    pub async fn bank_with_latency(&self, decline_rate: f64, latency_ms: u64, outage: &str) {
        let response = self
            .client
            .put(format!("{}/payments/chaos", self.payments))
            .bearer_auth(&self.admin.token)
            .json(
                &json!({"decline_rate": decline_rate, "latency_ms": latency_ms, "outage": outage}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "setting the bank's chaos"
        );
    }

    /// Gives `user` a profile with `address` at the users service.
    pub async fn profile(&self, user: &TestUser, address: Option<&str>) {
        let users = self.users.as_ref().expect("the stack runs users");
        let response = self
            .client
            .post(format!("{users}/users"))
            .bearer_auth(&self.admin.token)
            .json(&json!({"id": user.id, "username": user.username, "address": address}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "creating a profile");
    }

    /// The payments the bank holds for an order, as `(status, amount_cents)`.
    pub async fn payments_of(&self, order_id: &str) -> Vec<(String, i64)> {
        let db = self.db("payments").await;
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, amount_cents FROM payments WHERE order_id = $1")
                .bind(order_id)
                .fetch_all(&db)
                .await
                .unwrap();
        db.close().await;
        rows
    }

    /// A service's database, for checks its API cannot show.
    pub async fn db(&self, service: &str) -> sqlx::AnyPool {
        self.databases
            .get(service)
            .unwrap_or_else(|| panic!("the stack runs no {service}"))
            .connect()
            .await
    }

    /// Reserves stock at products directly, as orders would for `order_id`.
    pub async fn reserve(&self, order_id: uuid::Uuid, product_id: i64, quantity: i64) {
        let response = self
            .client
            .post(format!("{}/internal/reservations", self.products))
            .header("x-internal-token", self.internal_token.as_str())
            .json(&json!({"order_id": order_id, "items": [{"product_id": product_id, "quantity": quantity}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "reserving at products"
        );
    }

    /// Runs `sql` on orders' database (to stage what a crash would leave behind).
    pub async fn orders_sql(&self, sql: &str) {
        let db = self.db("orders").await;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&db)
            .await
            .unwrap();
        db.close().await;
    }

    pub async fn orders_stored(&self) -> i64 {
        let db = self.db("orders").await;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
            .fetch_one(&db)
            .await
            .unwrap();
        db.close().await;
        count
    }

    // Orders.

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.orders, path)
    }

    pub async fn place(&self, user: &TestUser, body: &Value) -> Response {
        self.client
            .post(self.url("/orders"))
            .bearer_auth(&user.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn place_with_key(&self, user: &TestUser, key: &str, body: &Value) -> Response {
        self.client
            .post(self.url("/orders"))
            .bearer_auth(&user.token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Places an order expecting it paid; returns the order.
    pub async fn paid_order(&self, user: &TestUser, items: &[(i64, i64)]) -> Value {
        let response = self.place(user, &order_body(items)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "placing an order");
        let order: Value = response.json().await.unwrap();
        assert_eq!(order["status"], "paid");
        order
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    /// `GET /orders/{id}`, expecting it visible.
    pub async fn order(&self, user: &TestUser, id: &str) -> Value {
        let response = self.get(user, &format!("/orders/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK, "reading an order");
        response.json().await.unwrap()
    }

    pub async fn cancel(&self, user: &TestUser, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/orders/{id}")))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn pay(&self, user: &TestUser, id: &str) -> Response {
        self.client
            .post(self.url(&format!("/orders/{id}/payment")))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn set_status(&self, user: &TestUser, id: &str, status: &str) -> Response {
        self.client
            .patch(self.url(&format!("/orders/{id}")))
            .bearer_auth(&user.token)
            .json(&json!({"status": status}))
            .send()
            .await
            .unwrap()
    }

    pub async fn breakers(&self) -> Value {
        let response = self
            .client
            .get(self.url("/health/breakers"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["breakers"].clone()
    }

    // Events.

    /// The types of the events published so far about `order_id`, in order.
    pub fn event_types(&self, order_id: &str) -> Vec<String> {
        self.events_of(order_id)
            .into_iter()
            .map(|event| event.kind)
            .collect()
    }

    pub fn events_of(&self, order_id: &str) -> Vec<Event> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|event| event.subject == order_id)
            .cloned()
            .collect()
    }

    /// Waits until `order_id` has `count` events; returns them.
    pub async fn wait_for_events(&self, order_id: &str, count: usize) -> Vec<Event> {
        eventually(|| async {
            let events = self.events_of(order_id);
            (events.len() >= count).then_some(events)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "expected {count} events for {order_id}, got {:?}",
                self.event_types(order_id)
            )
        })
    }
}

/// Polls `check` every 20 ms for up to 5 s.
pub async fn eventually<T, F, Fut>(mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts a problem answer with `status` and `code`; returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "unexpected problem: {body}");
    body
}

/// The field the first error of a problem names.
pub fn first_field(problem: &Value) -> &str {
    problem["errors"][0]["field"].as_str().unwrap_or("")
}
