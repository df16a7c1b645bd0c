//! Starting users for a test, and typed shortcuts for its endpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use platform::Wiring;
use platform::events::memory::MemoryBus;
use platform::events::{Bus, Event, Handled, USER_EVENTS, consumer};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::{TestDatabase, TestKeys, TestUser};
use uuid::Uuid;

/// A running users service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub keys: TestKeys,
    pub wiring: Wiring,
    pub bus: MemoryBus,
    pub admin: TestUser,
    /// Every event seen on `user-events`, by a consumer group of the test's own.
    observed: Arc<Mutex<Vec<Event>>>,
    /// The database the fresh start made (`None` when a test gave its own URL), dropped after
    /// the service stops.
    database: Option<TestDatabase>,
    _dir: Arc<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.wiring.shutdown.cancel();
    }
}

/// Users over a fresh database (SQLite, or PostgreSQL when `MICROSHOP_TEST_DATABASE=postgres`),
/// in embedded mode.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(None).await
}

/// Users over the database at `database_url` (a fresh one when `None`).
pub async fn spawn_app_on(database_url: Option<String>) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let (database, database_url) = match database_url {
        Some(url) => (None, Some(url)),
        None => {
            let database = TestDatabase::create("users", dir.path()).await;
            let url = database.config_url();
            (Some(database), url)
        }
    };
    let keys = TestKeys::new();
    let (wiring, bus) = test_support::wiring(&keys);
    let observed = Arc::new(Mutex::new(Vec::new()));
    let seen = observed.clone();
    let observer = consumer::handler(move |event: Event| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(event);
            Handled::Done
        }
    });
    bus.consume(
        USER_EVENTS,
        "test-observer",
        observer,
        wiring.shutdown.clone(),
    );
    let env = platform::ServiceEnv {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };
    let config = users::Config {
        database_url,
        ..users::Config::default()
    };
    let router = users::app(&config, &env, &wiring)
        .await
        .expect("users starts");
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let running =
        platform::server::spawn("users", listener, router, wiring.shutdown.clone()).unwrap();
    TestApp {
        address: format!("http://{}", running.addr),
        client: platform::client::http_client(),
        admin: keys.admin(),
        keys,
        wiring,
        bus,
        observed,
        database,
        _dir: dir,
    }
}

/// The details of a profile as tests write them.
pub fn alice_details() -> Value {
    json!({
        "email": "alice@example.com",
        "first_name": "Alice",
        "last_name": "Martin",
        "address": "1 rue de la Paix\n75002 Paris",
        "phone": "+33 6 12 34 56 78",
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A customer with a token (no profile yet).
    pub fn customer(&self, username: &str) -> TestUser {
        self.keys.user(username)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(reqwest::Method::PATCH, path, token, body)
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(reqwest::Method::PUT, path, token, body)
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.delete(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `POST /users` as admin for `user`'s account, with `details` merged in; expects 201.
    pub async fn create_profile(&self, user: &TestUser, details: Value) -> Value {
        let mut body = json!({"id": user.id, "username": user.username});
        merge(&mut body, details);
        let response = self.post("/users", Some(&self.admin.token), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
        response.json().await.unwrap()
    }

    /// `GET /users/me` as `user`; expects 200.
    pub async fn me(&self, user: &TestUser) -> Value {
        let response = self.get("/users/me", Some(&user.token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `GET /internal/users/{id}` with the internal token.
    pub async fn get_internal(&self, id: Uuid) -> Response {
        self.client
            .get(self.url(&format!("/internal/users/{id}")))
            .header(
                platform::auth::INTERNAL_TOKEN_HEADER,
                self.wiring.internal_token.as_str(),
            )
            .send()
            .await
            .unwrap()
    }

    /// Publishes a `user.registered` for `user` on the bus, as auth's relay would.
    pub async fn publish_registration(&self, user: &TestUser, details: Value) -> Event {
        let mut data = json!({
            "user_id": user.id,
            "username": user.username,
            "email": null,
            "first_name": null,
            "last_name": null,
            "address": null,
        });
        merge(&mut data, details);
        let event = Event::new("/auth", "user.registered", user.id.to_string(), data);
        self.publish(&event).await;
        event
    }

    pub async fn publish(&self, event: &Event) {
        self.bus
            .publish(USER_EVENTS, &event.subject, event)
            .await
            .unwrap();
    }

    /// Waits until the users consumer has passed every message on `user-events` (they are
    /// dropped from the in-process log only once every group has handled them).
    pub async fn settle(&self) {
        for _ in 0..500 {
            if self.bus.retained(USER_EVENTS) == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the users consumer did not process the published events in time");
    }

    /// The `user.deleted` events published for `id`, once the outbox is drained and every
    /// consumer has caught up.
    pub async fn deletions_published(&self, id: Uuid) -> Vec<Event> {
        for _ in 0..500 {
            if self.pending_outbox_rows().await == 0 && self.bus.retained(USER_EVENTS) == 0 {
                return self
                    .observed
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|event| event.kind == "user.deleted" && event.subject == id.to_string())
                    .cloned()
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the users outbox was not published in time");
    }

    /// Outbox rows not sent yet.
    pub async fn pending_outbox_rows(&self) -> i64 {
        let pool = self.pool().await;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        count
    }

    /// The outbox rows keyed by `id`, sent or not: `(topic, payload)`.
    pub async fn outbox_rows(&self, id: Uuid) -> Vec<(String, Value)> {
        let pool = self.pool().await;
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT topic, payload FROM outbox WHERE key = $1 ORDER BY created_at")
                .bind(id.to_string())
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows.into_iter()
            .map(|(topic, payload)| (topic, serde_json::from_str(&payload).unwrap()))
            .collect()
    }

    async fn pool(&self) -> sqlx::AnyPool {
        self.database
            .as_ref()
            .expect("a database of the test's own")
            .connect()
            .await
    }

    /// Rows in `profiles` for `id`, tombstones included: what the API cannot show.
    pub async fn stored_rows(&self, id: Uuid) -> i64 {
        self.count("SELECT COUNT(*) FROM profiles WHERE id = $1", id)
            .await
    }

    /// How many personal details are still stored for `id`.
    pub async fn stored_personal_details(&self, id: Uuid) -> i64 {
        self.count(
            "SELECT COUNT(username) + COUNT(email) + COUNT(first_name) + COUNT(last_name) \
             + COUNT(address) + COUNT(phone) FROM profiles WHERE id = $1",
            id,
        )
        .await
    }

    async fn count(&self, sql: &'static str, id: Uuid) -> i64 {
        let pool = self
            .database
            .as_ref()
            .expect("a database of the test's own")
            .connect()
            .await;
        let (count,): (i64,) = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        count
    }
}

/// Overwrites `target`'s members with `patch`'s.
pub fn merge(target: &mut Value, patch: Value) {
    if let (Some(target), Value::Object(patch)) = (target.as_object_mut(), patch) {
        for (key, value) in patch {
            target.insert(key, value);
        }
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

/// Asserts a 422 naming `field`.
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
