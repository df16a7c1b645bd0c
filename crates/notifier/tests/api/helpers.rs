//! Starting the notifier for a test, publishing order events, and typed shortcuts for its
//! endpoints (including a small Server-Sent Events reader).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use notifier::Config;
use platform::ServiceEnv;
use platform::events::memory::MemoryBus;
use platform::events::{Bus, Event, ORDER_EVENTS};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use test_support::{TestDatabase, TestKeys, TestUser};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A running notifier with the bus it consumes.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub bus: MemoryBus,
    pub keys: TestKeys,
    pub config: Config,
    shutdown: CancellationToken,
    /// Shared by restarts, dropped after the service stops.
    database: Arc<TestDatabase>,
    dir: Arc<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The notifier with the default configuration, over a fresh database (SQLite, or PostgreSQL
/// when `MICROSHOP_TEST_DATABASE=postgres`).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The notifier with a configuration adjusted by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let database = Arc::new(TestDatabase::create(notifier::SERVICE, dir.path()).await);
    let mut config = Config {
        database_url: database.config_url(),
        ..Config::default()
    };
    configure(&mut config);
    start(config, database, dir, TestKeys::new()).await
}

async fn start(
    config: Config,
    database: Arc<TestDatabase>,
    dir: Arc<TempDir>,
    keys: TestKeys,
) -> TestApp {
    let (wiring, bus) = test_support::wiring(&keys);
    let env = ServiceEnv {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };
    let router = notifier::app(&config, &env, &wiring)
        .await
        .expect("the notifier starts");
    let listener = platform::server::bind("127.0.0.1", 0).await.unwrap();
    let shutdown = wiring.shutdown.clone();
    let running = platform::server::spawn("notifier", listener, router, shutdown.clone()).unwrap();
    TestApp {
        address: format!("http://{}", running.addr),
        client: platform::client::http_client(),
        bus,
        keys,
        config,
        shutdown,
        database,
        dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The same service restarted over the same database (a fresh bus, the same keys).
    pub async fn restart(self) -> TestApp {
        self.shutdown.cancel();
        let (config, database, dir, keys) = (
            self.config.clone(),
            self.database.clone(),
            self.dir.clone(),
            self.keys.clone(),
        );
        drop(self);
        start(config, database, dir, keys).await
    }

    pub fn user(&self, username: &str) -> TestUser {
        self.keys.user(username)
    }

    pub async fn publish(&self, event: &Event) {
        self.bus
            .publish(ORDER_EVENTS, &event.subject, event)
            .await
            .expect("the memory bus accepts events");
    }

    /// `GET /notifications` with `query` (such as `?limit=2`) as `user`.
    pub async fn list(&self, user: &TestUser, query: &str) -> Response {
        self.client
            .get(self.url(&format!("/notifications{query}")))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    /// The first page (up to 100) of `user`'s inbox, expecting success.
    pub async fn inbox(&self, user: &TestUser) -> Inbox {
        let response = self.list(user, "?limit=100").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Waits until `user`'s inbox holds `count` notifications; fails after 2 s.
    pub async fn wait_for_inbox(&self, user: &TestUser, count: usize) -> Inbox {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let inbox = self.inbox(user).await;
            if inbox.items.len() >= count {
                assert_eq!(inbox.items.len(), count, "more notifications than expected");
                return inbox;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} had {} notifications after 2 s, expected {count}",
                user.username,
                inbox.items.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn mark_read(&self, user: &TestUser, id: &str) -> Response {
        self.client
            .post(self.url(&format!("/notifications/{id}/read")))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    /// Opens `GET /notifications/stream{query}` as `user` with extra headers.
    pub async fn open_stream_with(
        &self,
        user: &TestUser,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .get(self.url(&format!("/notifications/stream{query}")))
            .bearer_auth(&user.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Opens `user`'s stream, expecting success.
    pub async fn stream(&self, user: &TestUser) -> SseReader {
        let response = self.open_stream_with(user, "", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        SseReader::new(response)
    }
}

/// A `GET /notifications` answer.
#[derive(Debug, serde::Deserialize)]
pub struct Inbox {
    pub items: Vec<Value>,
    pub total: i64,
}

impl Inbox {
    pub fn messages(&self) -> Vec<&str> {
        self.items
            .iter()
            .map(|item| item["message"].as_str().unwrap())
            .collect()
    }
}

/// An order event as the orders service publishes it, for `user`'s new order: 2 × 10.00 EUR
/// and 1 × 5.00 EUR, 25.00 EUR in all.
pub fn order_event(kind: &str, user: &TestUser) -> Event {
    order_event_for(kind, user, Uuid::now_v7())
}

/// Like [`order_event`], for an existing order.
pub fn order_event_for(kind: &str, user: &TestUser, order_id: Uuid) -> Event {
    let status = match kind {
        "order.created" => "awaiting_payment",
        "order.paid" => "paid",
        "order.payment_failed" => "payment_failed",
        _ => "cancelled",
    };
    Event::new(
        "/orders",
        kind,
        order_id.to_string(),
        json!({
            "order_id": order_id,
            "user_id": user.id,
            "username": user.username,
            "status": status,
            "total_cents": 2500,
            "items": [
                {"product_id": 1, "name": "Fraises", "unit_price_cents": 1000, "quantity": 2, "line_total_cents": 2000},
                {"product_id": 2, "name": "Sucre", "unit_price_cents": 500, "quantity": 1, "line_total_cents": 500}
            ],
        }),
    )
}

/// One Server-Sent Events frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseFrame {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
    /// Only comment lines (a keep-alive).
    pub comment_only: bool,
}

impl SseFrame {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Reads frames from an open event stream.
pub struct SseReader {
    pub status: StatusCode,
    pub content_type: String,
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    pub fn new(response: Response) -> Self {
        Self {
            status: response.status(),
            content_type: response
                .headers()
                .get("content-type")
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next frame (keep-alives included) within `within`; `None` on timeout.
    pub async fn next_frame(&mut self, within: Duration) -> Option<SseFrame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                return Some(parse_frame(&raw));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .ok()?;
            let chunk = chunk.expect("the stream is still open").unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next frame that is not a keep-alive, within `within`.
    pub async fn next_event(&mut self, within: Duration) -> Option<SseFrame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_frame(left).await?;
            if !frame.comment_only {
                return Some(frame);
            }
        }
    }

    /// Whether the server ends the stream within `within` (frames before the end are skipped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The next notification frame within 1 s, expecting one.
    pub async fn next_notification(&mut self) -> SseFrame {
        let frame = self
            .next_event(Duration::from_secs(1))
            .await
            .expect("a notification within 1 s");
        assert_eq!(frame.event.as_deref(), Some("notification"), "{frame:?}");
        frame
    }
}

fn parse_frame(raw: &str) -> SseFrame {
    let mut frame = SseFrame {
        comment_only: true,
        ..SseFrame::default()
    };
    for line in raw.lines().filter(|line| !line.is_empty()) {
        if line.starts_with(':') {
            continue;
        }
        frame.comment_only = false;
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => frame.event = Some(value.to_owned()),
            "id" => frame.id = Some(value.to_owned()),
            "data" => {
                if !frame.data.is_empty() {
                    frame.data.push('\n');
                }
                frame.data.push_str(value);
            }
            _ => {}
        }
    }
    frame
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
