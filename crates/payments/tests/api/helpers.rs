//! Starting payments for a test, and typed shortcuts for its endpoints.

use std::time::Duration;

use payments::Config;
use payments::domain::{DeclineRate, Latency, Outage};
use platform::ServiceEnv;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::{TestDatabase, TestKeys, TestUser};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A running payments service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub internal_token: String,
    pub keys: TestKeys,
    pub admin: TestUser,
    pub customer: TestUser,
    shutdown: CancellationToken,
    /// Dropped after the service stops (fields drop in order), before its directory.
    database: TestDatabase,
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Payments with the default configuration (the seed's decline rate of 0.5).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Payments that always approves.
pub async fn approving_bank() -> TestApp {
    spawn_app_with(|config| config.decline_rate = rate(0.0)).await
}

/// Payments that always declines.
pub async fn declining_bank() -> TestApp {
    spawn_app_with(|config| config.decline_rate = rate(1.0)).await
}

pub fn rate(value: f64) -> DeclineRate {
    DeclineRate::parse(value).unwrap()
}

pub fn latency(millis: i64) -> Latency {
    Latency::parse(millis).unwrap()
}

pub fn outage(name: &str) -> Outage {
    Outage::parse(name).unwrap()
}

/// Payments with a configuration adjusted by `configure`, over a fresh database (SQLite, or
/// PostgreSQL when `MICROSHOP_TEST_DATABASE=postgres`).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = TestDatabase::create("payments", dir.path()).await;
    let mut config = Config {
        database_url: database.config_url(),
        ..Config::default()
    };
    configure(&mut config);
    let env = ServiceEnv {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };
    let keys = TestKeys::new();
    let (wiring, _bus) = test_support::wiring(&keys);
    let router = payments::app(&config, &env, &wiring)
        .await
        .expect("payments starts");
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let running =
        platform::server::spawn("payments", listener, router, wiring.shutdown.clone()).unwrap();
    TestApp {
        address: format!("http://{}", running.addr),
        client: platform::client::http_client(),
        internal_token: wiring.internal_token.as_str().to_owned(),
        admin: keys.admin(),
        customer: keys.user("alice"),
        keys,
        shutdown: wiring.shutdown,
        database,
        _dir: dir,
    }
}

/// The body of a charge.
pub fn charge_body(order_id: Uuid, amount_cents: i64) -> Value {
    json!({"order_id": order_id, "amount_cents": amount_cents})
}

/// A fresh idempotency key.
pub fn new_key() -> String {
    format!("test-{}", Uuid::now_v7())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request as another microshop service sends it (with the internal token).
    pub fn internal(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("x-internal-token", &self.internal_token)
    }

    /// `POST /payments` with `key` and `body`, as orders sends it.
    pub async fn charge_raw(&self, key: Option<&str>, body: &Value) -> Response {
        let mut request = self.internal(reqwest::Method::POST, "/payments").json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }

    /// Charges `amount_cents` for `order_id` under `key`.
    pub async fn charge_with_key(&self, key: &str, order_id: Uuid, amount_cents: i64) -> Response {
        self.charge_raw(Some(key), &charge_body(order_id, amount_cents))
            .await
    }

    /// Charges a new order under a new key, expecting a 201; returns the payment.
    pub async fn charged(&self, amount_cents: i64) -> Value {
        let response = self
            .charge_with_key(&new_key(), Uuid::now_v7(), amount_cents)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn get_payment(&self, id: &str) -> Response {
        self.internal(reqwest::Method::GET, &format!("/payments/{id}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn refund(&self, id: &str) -> Response {
        self.internal(reqwest::Method::POST, &format!("/payments/{id}/refund"))
            .send()
            .await
            .unwrap()
    }

    /// `GET /payments/chaos` with an optional bearer token.
    pub async fn get_chaos(&self, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url("/payments/chaos"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `PUT` (or `PATCH`) `/payments/chaos` with an optional bearer token.
    pub async fn send_chaos(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url("/payments/chaos"))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Replaces the chaos settings as the admin, expecting success.
    pub async fn set_chaos(&self, decline_rate: f64, latency_ms: u64, outage: &str) {
        let response = self
            .send_chaos(
                reqwest::Method::PUT,
                Some(&self.admin.token),
                &json!({"decline_rate": decline_rate, "latency_ms": latency_ms, "outage": outage}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// A direct connection to the service's database, for checks the API cannot show.
    pub async fn db(&self) -> sqlx::AnyPool {
        self.database.connect().await
    }

    /// How many payments are stored under `key`.
    pub async fn payments_with_key(&self, key: &str) -> i64 {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM payments WHERE idempotency_key = $1")
                .bind(key)
                .fetch_one(&self.db().await)
                .await
                .unwrap();
        count
    }

    /// How many payments are stored at all.
    pub async fn payment_count(&self) -> i64 {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM payments")
            .fetch_one(&self.db().await)
            .await
            .unwrap();
        count
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

/// Asserts a 422 naming `field`; returns the body.
pub async fn assert_invalid_field(response: Response, field: &str) -> Value {
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], field, "{body}");
    body
}

/// A client that gives up after `timeout`, for calls that may never be answered.
pub fn impatient_client(timeout: Duration) -> reqwest::Client {
    platform::client::http_builder()
        .timeout(timeout)
        .build()
        .unwrap()
}
