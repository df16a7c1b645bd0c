//! Starting cars for a test over a chosen database, and typed shortcuts for its endpoints.

use platform::Wiring;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::{PostgresDb, TestKeys, TestUser};

/// Where a test's cars are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in the data directory: embedded mode's default.
    Sqlite,
    /// A fresh PostgreSQL database, its URL as given.
    Postgres,
    /// The same with `sslmode=require`, as a Neon URL is written: TLS or no connection.
    PostgresTls,
}

/// A running cars service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub keys: TestKeys,
    pub admin: TestUser,
    /// The URL the service was given (`None`: the default SQLite file in the data directory).
    pub database_url: Option<String>,
    wiring: Wiring,
    /// The PostgreSQL database, dropped after the service (fields drop in order).
    pub database: Option<PostgresDb>,
    dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.wiring.shutdown.cancel();
    }
}

impl TestApp {
    /// Starts cars over a fresh database of `backend`; `None` (with the reason printed) when
    /// that backend is PostgreSQL and no server is configured.
    pub async fn spawn(backend: Backend, test: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (database, database_url) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres | Backend::PostgresTls => {
                let database = PostgresDb::create(test).await?;
                let url = if backend == Backend::PostgresTls {
                    database.url_with("sslmode=require")
                } else {
                    database.url.clone()
                };
                (Some(database), Some(url))
            }
        };
        let keys = TestKeys::new();
        let (wiring, _bus) = test_support::wiring(&keys);
        let env = platform::ServiceEnv {
            data_dir: dir.path().to_path_buf(),
            embedded: database_url.is_none(),
        };
        let config = cars::Config {
            database_url: database_url.clone(),
            ..cars::Config::default()
        };
        let router = cars::app(&config, &env, &wiring)
            .await
            .expect("cars starts");
        let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
        let running =
            platform::server::spawn("cars", listener, router, wiring.shutdown.clone()).unwrap();
        Some(Self {
            address: format!("http://{}", running.addr),
            client: platform::client::http_client(),
            admin: keys.admin(),
            keys,
            database_url,
            wiring,
            database,
            dir,
        })
    }

    /// The data directory the service was given (where `cars.db` lives on SQLite).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A customer with a token.
    pub fn customer(&self, username: &str) -> TestUser {
        self.keys.user(username)
    }

    /// Sends `method path`, with a bearer token and a JSON body when given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, user: &TestUser) -> Response {
        self.send(Method::GET, path, Some(&user.token), None).await
    }

    pub async fn post(&self, path: &str, user: &TestUser, body: &Value) -> Response {
        self.send(Method::POST, path, Some(&user.token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, user: &TestUser, body: &Value) -> Response {
        self.send(Method::PUT, path, Some(&user.token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, user: &TestUser, body: &Value) -> Response {
        self.send(Method::PATCH, path, Some(&user.token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, user: &TestUser) -> Response {
        self.send(Method::DELETE, path, Some(&user.token), None)
            .await
    }

    /// `POST /cars` as `user`; expects 201 and returns the car.
    pub async fn create_car(&self, user: &TestUser, body: &Value) -> Value {
        let response = self.post("/cars", user, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
        response.json().await.unwrap()
    }

    /// `GET /cars/{id}` as `user`; expects 200.
    pub async fn read_car(&self, user: &TestUser, id: &Value) -> Value {
        let response = self.get(&car_path(id), user).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `GET /cars{query}` as `user`; expects 200 and returns the page.
    pub async fn list(&self, user: &TestUser, query: &str) -> Value {
        let response = self.get(&format!("/cars{query}"), user).await;
        assert_eq!(response.status(), StatusCode::OK, "listing {query}");
        response.json().await.unwrap()
    }
}

/// The path of the car `id` (a JSON string, as answers carry it).
pub fn car_path(id: &Value) -> String {
    format!("/cars/{}", id.as_str().expect("car ids are strings"))
}

/// A valid body.
pub fn peugeot() -> Value {
    json!({"brand": "Peugeot", "model": "208", "year": 2020, "color": "bleu"})
}

/// Overwrites `target`'s members with `patch`'s.
pub fn merge(target: &mut Value, patch: Value) {
    if let (Some(target), Value::Object(patch)) = (target.as_object_mut(), patch) {
        for (key, value) in patch {
            target.insert(key, value);
        }
    }
}

/// `body` without the member `key`.
pub fn without(body: &Value, key: &str) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove(key);
    body
}

/// The `field` of each listed car, in order.
pub fn column(page: &Value, field: &str) -> Vec<Value> {
    page["items"]
        .as_array()
        .expect("a page has items")
        .iter()
        .map(|car| car[field].clone())
        .collect()
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

/// Asserts the 404 every unknown or foreign car gets.
pub async fn assert_not_found(response: Response) {
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}
