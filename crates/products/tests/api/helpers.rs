//! Starting products for a test, and typed shortcuts for its endpoints.

use std::sync::Arc;

use platform::auth::InternalToken;
use platform::server::ConnectionLimits;
use platform::{ServiceEnv, Wiring};
use products::Config;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::{TestDatabase, TestKeys, TestUser};
use uuid::Uuid;

/// A running products service, with an admin and a customer who can call it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin: TestUser,
    pub customer: TestUser,
    pub internal_token: InternalToken,
    keys: TestKeys,
    config: Config,
    /// The database of a fresh start (shared by restarts; `None` when a test brought its
    /// own), dropped after the service stops.
    database: Option<Arc<TestDatabase>>,
    dir: Arc<TempDir>,
    wiring: Wiring,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.wiring.shutdown.cancel();
    }
}

/// Products over a fresh database (SQLite, or PostgreSQL when
/// `MICROSHOP_TEST_DATABASE=postgres`) with an empty catalogue (seeding off), so each test sees
/// only the products it creates.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|config| config.seed_catalogue = false).await
}

/// Products with the default configuration: the sample catalogue on first start.
pub async fn spawn_seeded_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let database = Arc::new(TestDatabase::create("products", dir.path()).await);
    let mut config = Config {
        database_url: database.config_url(),
        ..Config::default()
    };
    configure(&mut config);
    start(
        config,
        dir,
        Some(database),
        TestKeys::new(),
        ConnectionLimits::default(),
    )
    .await
}

/// Products configured with `database_url` as given (a database the test controls), with an
/// empty catalogue.
pub async fn spawn_app_over(database_url: String) -> TestApp {
    spawn_app_over_with_limits(database_url, ConnectionLimits::default()).await
}

/// [`spawn_app_over`], its server held to `limits` (a short response timeout, say).
pub async fn spawn_app_over_with_limits(database_url: String, limits: ConnectionLimits) -> TestApp {
    let config = Config {
        seed_catalogue: false,
        database_url: Some(database_url),
        ..Config::default()
    };
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    start(config, dir, None, TestKeys::new(), limits).await
}

/// Products on a fresh PostgreSQL database (see [`PgDatabase`]), or `None` with a note when no
/// server answers. Seeding is off unless `configure` turns it on.
pub async fn spawn_postgres_app(
    configure: impl FnOnce(&mut Config),
) -> Option<(TestApp, PgDatabase)> {
    let database = PgDatabase::create().await?;
    let mut config = Config {
        seed_catalogue: false,
        database_url: Some(database.url.clone()),
        ..Config::default()
    };
    configure(&mut config);
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let app = start(
        config,
        dir,
        None,
        TestKeys::new(),
        ConnectionLimits::default(),
    )
    .await;
    Some((app, database))
}

/// A database of its own on the test PostgreSQL server (`MICROSHOP_TEST_POSTGRES_URL`, default
/// the local server), dropped by [`PgDatabase::drop`].
pub struct PgDatabase {
    admin: sqlx::AnyPool,
    name: String,
    pub url: String,
}

impl PgDatabase {
    async fn create() -> Option<Self> {
        sqlx::any::install_default_drivers();
        // Skipped (with the reason) without a configured server; CI sets one, and then an
        // unreachable server fails the test rather than skipping it.
        let Ok(admin_url) = std::env::var("MICROSHOP_TEST_POSTGRES_URL") else {
            eprintln!("skipped: set MICROSHOP_TEST_POSTGRES_URL to run the PostgreSQL tests");
            return None;
        };
        let admin = match sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect(&admin_url)
            .await
        {
            Ok(admin) => admin,
            Err(error) => {
                panic!("MICROSHOP_TEST_POSTGRES_URL is set but {admin_url} is unreachable: {error}")
            }
        };
        let name = format!("microshop_products_{}", Uuid::now_v7().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let base = &admin_url[..admin_url.rfind('/').unwrap()];
        let url = format!("{base}/{name}");
        Some(Self { admin, name, url })
    }

    /// How many connections to the database are open now, from any client.
    pub async fn connections(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(&self.name)
            .fetch_one(&self.admin)
            .await
            .unwrap()
    }

    /// Drops the database, closing whatever connections the stopped service left.
    pub async fn drop(self, app: TestApp) {
        std::mem::drop(app);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}

async fn start(
    config: Config,
    dir: Arc<TempDir>,
    database: Option<Arc<TestDatabase>>,
    keys: TestKeys,
    limits: ConnectionLimits,
) -> TestApp {
    let (wiring, _bus) = test_support::wiring(&keys);
    let env = ServiceEnv {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };
    let router = products::app(&config, &env, &wiring)
        .await
        .expect("products starts");
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let options = platform::server::ServerOptions {
        limits,
        ..Default::default()
    };
    let running = platform::server::spawn_with(
        "products",
        listener,
        router,
        wiring.shutdown.clone(),
        options,
    )
    .unwrap();
    TestApp {
        address: format!("http://{}", running.addr),
        client: platform::client::http_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        admin: keys.admin(),
        customer: keys.user("carol"),
        internal_token: wiring.internal_token.clone(),
        keys,
        config,
        database,
        dir,
        wiring,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The service started again over the same database, with `configure` applied to this
    /// one's configuration (this one keeps running).
    pub async fn restart_with(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        configure(&mut config);
        start(
            config,
            self.dir.clone(),
            self.database.clone(),
            self.keys.clone(),
            ConnectionLimits::default(),
        )
        .await
    }

    /// A direct connection to the service's database, for checks the API cannot show.
    pub async fn db(&self) -> sqlx::AnyPool {
        self.database
            .as_ref()
            .expect("a database of the test's own")
            .connect()
            .await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET /products` with a query string such as `"?limit=2&q=lamp"` (or `""`).
    pub async fn list(&self, query: &str) -> Response {
        self.get(&format!("/products{query}")).await
    }

    /// `GET /products`, expecting success.
    pub async fn listed(&self, query: &str) -> Value {
        let response = self.list(query).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `POST /products` as `token` (`None`: no token).
    pub async fn create_as(&self, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.post(self.url("/products")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `POST /products` as the admin.
    pub async fn create(&self, body: &Value) -> Response {
        self.create_as(Some(&self.admin.token), body).await
    }

    /// Creates a product as the admin, expecting success; its id.
    pub async fn product(&self, name: &str, price_cents: i64, stock: i64) -> i64 {
        let response = self
            .create(&json!({"name": name, "price_cents": price_cents, "stock": stock}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["id"].as_i64().unwrap()
    }

    /// Creates a product in `category` as the admin, expecting success; its id.
    pub async fn product_in(&self, category: &str, name: &str) -> i64 {
        let response = self
            .create(&json!({"name": name, "price_cents": 100, "stock": 1, "category": category}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["id"].as_i64().unwrap()
    }

    pub async fn patch_as(&self, token: Option<&str>, id: &str, body: &Value) -> Response {
        let mut request = self
            .client
            .patch(self.url(&format!("/products/{id}")))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `PATCH /products/{id}` as the admin.
    pub async fn patch(&self, id: i64, body: &Value) -> Response {
        self.patch_as(Some(&self.admin.token), &id.to_string(), body)
            .await
    }

    pub async fn delete_as(&self, token: Option<&str>, id: &str) -> Response {
        let mut request = self.client.delete(self.url(&format!("/products/{id}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// A product as `GET /products/{id}` shows it, expecting it to exist.
    pub async fn product_json(&self, id: i64) -> Value {
        let response = self.get(&format!("/products/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn stock_of(&self, id: i64) -> i64 {
        self.product_json(id).await["stock"].as_i64().unwrap()
    }

    /// An internal `POST` carrying `token` as `X-Internal-Token` (`None`: no header).
    pub async fn internal_post_with(
        &self,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.client.post(self.url(path));
        if let Some(token) = token {
            request = request.header("x-internal-token", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// An internal `POST` as another microshop service.
    pub async fn internal_post(&self, path: &str, body: Option<&Value>) -> Response {
        self.internal_post_with(Some(self.internal_token.as_str()), path, body)
            .await
    }

    /// `POST /internal/reservations` with raw `items`.
    pub async fn reserve(&self, order_id: Uuid, items: Value) -> Response {
        self.internal_post(
            "/internal/reservations",
            Some(&json!({"order_id": order_id, "items": items})),
        )
        .await
    }

    pub async fn confirm(&self, order_id: Uuid) -> Response {
        self.internal_post(&format!("/internal/reservations/{order_id}/confirm"), None)
            .await
    }

    pub async fn release(&self, order_id: Uuid) -> Response {
        self.internal_post(&format!("/internal/reservations/{order_id}/release"), None)
            .await
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
    assert_eq!(body["status"], status.as_u16());
    body
}

/// Asserts a 422 `validation_failed` naming `field`; returns the body.
pub async fn assert_invalid(response: Response, field: &str) -> Value {
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        body["errors"][0]["field"], field,
        "unexpected problem: {body}"
    );
    body
}

/// The ids of a listing's items, in order.
pub fn ids(listing: &Value) -> Vec<i64> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}
