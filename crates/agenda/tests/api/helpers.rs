//! Starting the agenda for a test, and typed shortcuts for its endpoints.

use std::sync::Arc;
use std::time::Duration;

use agenda::Config;
use platform::events::memory::MemoryBus;
use platform::events::{AGENDA_EVENTS, Event};
use platform::{ServiceEnv, Wiring};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::{TestKeys, TestUser};
use time::format_description::well_known::Rfc3339;
use time::{Duration as Span, OffsetDateTime};

/// A running agenda with two customers and an admin who can call it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The bus the outbox relay publishes on; unless a test starts a consumer, nothing reads
    /// `agenda-events`, so it keeps every announcement for the test to read.
    pub bus: MemoryBus,
    pub alice: TestUser,
    pub bob: TestUser,
    pub admin: TestUser,
    /// What the agenda was started with, to start another service beside it.
    pub env: ServiceEnv,
    pub wiring: Wiring,
    _dir: Arc<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.wiring.shutdown.cancel();
    }
}

/// The agenda with the default configuration, over a fresh SQLite database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default()).await
}

/// The agenda with `config` (such as a PostgreSQL `database_url`).
pub async fn spawn_app_with(config: Config) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let keys = TestKeys::new();
    let (wiring, bus) = test_support::wiring(&keys);
    let env = ServiceEnv {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };
    let router = agenda::app(&config, &env, &wiring)
        .await
        .expect("the agenda starts");
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let running =
        platform::server::spawn("agenda", listener, router, wiring.shutdown.clone()).unwrap();
    TestApp {
        address: format!("http://{}", running.addr),
        client: platform::client::http_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        bus,
        alice: keys.user("alice"),
        bob: keys.user("bob"),
        admin: keys.admin(),
        env,
        wiring,
        _dir: dir,
    }
}

/// RFC 3339 text for `hours` from now (negative: in the past), to the second.
pub fn in_hours(hours: i64) -> String {
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + Span::hours(hours);
    at.format(&Rfc3339).unwrap()
}

/// RFC 3339 text for a fixed instant.
pub fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

/// A valid public event starting in `starts_in` hours and lasting two hours.
pub fn event_body(title: &str, starts_in: i64) -> Value {
    json!({
        "title": title,
        "starts_at": in_hours(starts_in),
        "ends_at": in_hours(starts_in + 2),
    })
}

/// `body` with `patch`'s members set (a `null` member is removed).
pub fn with(mut body: Value, patch: Value) -> Value {
    for (key, value) in patch.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value.clone();
        }
    }
    body
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        user: Option<&TestUser>,
    ) -> reqwest::RequestBuilder {
        match user {
            Some(user) => request.bearer_auth(&user.token),
            None => request,
        }
    }

    /// `POST /events` with `body` as `user` (or without a token).
    pub async fn post_event(&self, user: Option<&TestUser>, body: &Value) -> Response {
        self.authorized(self.client.post(self.url("/events")), user)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates an event as `user`, expecting success; returns it.
    pub async fn create(&self, user: &TestUser, body: Value) -> Value {
        let response = self.post_event(Some(user), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
        response.json().await.unwrap()
    }

    /// A public event of `user` starting in `starts_in` hours; returns its id.
    pub async fn public_event(&self, user: &TestUser, title: &str, starts_in: i64) -> String {
        let event = self.create(user, event_body(title, starts_in)).await;
        event["id"].as_str().unwrap().to_owned()
    }

    /// A private event of `user` starting in `starts_in` hours; returns its id.
    pub async fn private_event(&self, user: &TestUser, title: &str, starts_in: i64) -> String {
        let body = with(
            event_body(title, starts_in),
            json!({"visibility": "private"}),
        );
        let event = self.create(user, body).await;
        event["id"].as_str().unwrap().to_owned()
    }

    /// `GET /events{query}` as `user` (or anonymously).
    pub async fn list(&self, user: Option<&TestUser>, query: &str) -> Response {
        self.authorized(self.client.get(self.url(&format!("/events{query}"))), user)
            .send()
            .await
            .unwrap()
    }

    /// The listing, expecting success.
    pub async fn listing(&self, user: Option<&TestUser>, query: &str) -> Value {
        let response = self.list(user, query).await;
        assert_eq!(response.status(), StatusCode::OK, "listing {query}");
        response.json().await.unwrap()
    }

    /// The titles of a listing, in order.
    pub async fn titles(&self, user: Option<&TestUser>, query: &str) -> Vec<String> {
        titles(&self.listing(user, query).await)
    }

    pub async fn get_event(&self, user: Option<&TestUser>, id: &str) -> Response {
        self.authorized(self.client.get(self.url(&format!("/events/{id}"))), user)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_event(&self, user: Option<&TestUser>, id: &str, body: &Value) -> Response {
        self.authorized(self.client.patch(self.url(&format!("/events/{id}"))), user)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete_event(&self, user: Option<&TestUser>, id: &str) -> Response {
        self.authorized(self.client.delete(self.url(&format!("/events/{id}"))), user)
            .send()
            .await
            .unwrap()
    }

    /// Everything published on `agenda-events` so far, oldest first.
    pub fn announcements(&self) -> Vec<Event> {
        self.bus.retained_events(AGENDA_EVENTS)
    }

    /// Waits until `count` announcements were published (the relay runs in the background);
    /// fails after 5 s, or if more arrive.
    pub async fn wait_for_announcements(&self, count: usize) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let published = self.announcements();
            if published.len() >= count {
                assert_eq!(published.len(), count, "more announcements than expected");
                return published;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} announcements after 5 s, expected {count}",
                published.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The titles of a listing's items, in order.
pub fn titles(listing: &Value) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap().to_owned())
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
    body
}

/// Asserts a 422 naming `field`.
pub async fn assert_invalid(response: Response, field: &str) -> Value {
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], field, "{body}");
    body
}
