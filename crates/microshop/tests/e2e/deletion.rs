//! Deleting a user ends the account everywhere: after `DELETE /users/me` (or an admin's
//! `DELETE /users/{id}`) the person can no longer log in or refresh, the username stays taken,
//! and the access token they still hold is refused by the gateway and by every service within
//! the revocation poll interval (5 s by default), through the whole embedded stack:
//! users' outbox → `user.deleted` on the bus → auth disables the account → every verifier's
//! next poll of auth's disabled accounts (and the notifier ends the user's open streams).

use std::time::{Duration, Instant};

use futures::StreamExt;
use microshop::settings::Service;
use serde_json::{Value, json};

use crate::stack::TestStack;

const PASSWORD: &str = "correct horse battery";

/// The default poll interval of the verifiers: the bound under test.
const BOUND: Duration = Duration::from_secs(5);

/// Time for the event to travel (outbox, bus, auth's consumer) and for scheduling on a busy
/// machine.
const SLACK: Duration = Duration::from_secs(3);

async fn send(
    stack: &TestStack,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = stack.client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn problem_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "status {status}"
    );
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Retries `probe` until it answers `(status, code)`, and returns how long that took; panics
/// after `limit`.
async fn within<F, Fut>(limit: Duration, expected: (u16, &str), mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let started = Instant::now();
    loop {
        let response = probe().await;
        if response.status().as_u16() == expected.0 {
            let answer = problem_code(response).await;
            assert_eq!((answer.0, answer.1.as_str()), expected);
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still answering {} after {:?}",
            response.status(),
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers and logs in `username`: `(id, access_token, refresh_token)`.
async fn signed_in(stack: &TestStack, username: &str) -> (String, String, String) {
    let registered = stack.register(username, PASSWORD).await;
    let tokens = stack.login(username, PASSWORD).await;
    (
        registered["id"].as_str().unwrap().to_owned(),
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_user_who_deletes_themselves_can_no_longer_log_in_refresh_or_order() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway.clone();
    let orders_direct = stack.addr(Service::Orders);
    let (_, access, refresh) = signed_in(&stack, "carol").await;
    let orders = send(
        &stack,
        reqwest::Method::GET,
        format!("{gateway}/orders"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(orders.status(), 200);
    let stream = send(
        &stack,
        reqwest::Method::GET,
        format!("{gateway}/notifications/stream"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(stream.status(), 200);
    let mut stream = stream.bytes_stream();

    let deleted = send(
        &stack,
        reqwest::Method::DELETE,
        format!("{gateway}/users/me"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    let deleted_at = Instant::now();

    // The login fails as soon as auth has processed `user.deleted`, like a wrong password.
    within(SLACK, (401, "invalid_credentials"), || {
        send(
            &stack,
            reqwest::Method::POST,
            format!("{gateway}/auth/login"),
            None,
            Some(json!({"username": "carol", "password": PASSWORD})),
        )
    })
    .await;
    let refreshed = send(
        &stack,
        reqwest::Method::POST,
        format!("{gateway}/auth/refresh"),
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(
        problem_code(refreshed).await,
        (401, "invalid_refresh_token".to_owned())
    );

    // The token still held is refused within the bound, at the gateway and by orders itself.
    within(BOUND + SLACK, (401, "token_revoked"), || {
        send(
            &stack,
            reqwest::Method::GET,
            format!("{gateway}/orders"),
            Some(&access),
            None,
        )
    })
    .await;
    let elapsed = deleted_at.elapsed();
    assert!(elapsed < BOUND + SLACK, "refused only after {elapsed:?}");
    let placed = send(
        &stack,
        reqwest::Method::POST,
        format!("{gateway}/orders"),
        Some(&access),
        Some(json!({"items": [{"product_id": 1, "quantity": 1}]})),
    )
    .await;
    assert_eq!(
        problem_code(placed).await,
        (401, "token_revoked".to_owned())
    );
    within(SLACK, (401, "token_revoked"), || {
        send(
            &stack,
            reqwest::Method::POST,
            format!("http://{orders_direct}/orders"),
            Some(&access),
            Some(json!({"items": [{"product_id": 1, "quantity": 1}]})),
        )
    })
    .await;

    // The notification stream the token opened ends too (its `expired` event, then the end).
    let mut seen = String::new();
    let ended = tokio::time::timeout(BOUND + SLACK, async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream is still open: {seen}");
    assert!(seen.contains("event: expired"), "{seen}");

    // The username is not handed to someone else.
    let again = send(
        &stack,
        reqwest::Method::POST,
        format!("{gateway}/auth/register"),
        None,
        Some(json!({"username": "carol", "password": "another good password"})),
    )
    .await;
    assert_eq!(
        problem_code(again).await,
        (409, "username_taken".to_owned())
    );
}

#[tokio::test]
async fn a_user_deleted_by_an_admin_is_locked_out_too_and_others_are_not() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway.clone();
    let password = std::fs::read_to_string(stack.data.join("admin-password")).unwrap();
    let admin = stack.login("admin", password.trim()).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (dave, dave_access, _) = signed_in(&stack, "dave").await;
    let (_, erin_access, _) = signed_in(&stack, "erin").await;
    // Dave's profile exists (from user.registered) before the admin deletes it.
    let started = Instant::now();
    while send(
        &stack,
        reqwest::Method::GET,
        format!("{gateway}/users/{dave}"),
        Some(&admin),
        None,
    )
    .await
    .status()
        != 200
    {
        assert!(started.elapsed() < SLACK, "dave's profile never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let deleted = send(
        &stack,
        reqwest::Method::DELETE,
        format!("{gateway}/users/{dave}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);

    within(BOUND + SLACK, (401, "token_revoked"), || {
        send(
            &stack,
            reqwest::Method::GET,
            format!("{gateway}/orders"),
            Some(&dave_access),
            None,
        )
    })
    .await;
    let login = send(
        &stack,
        reqwest::Method::POST,
        format!("{gateway}/auth/login"),
        None,
        Some(json!({"username": "dave", "password": PASSWORD})),
    )
    .await;
    assert_eq!(
        problem_code(login).await,
        (401, "invalid_credentials".to_owned())
    );
    let erin = send(
        &stack,
        reqwest::Method::GET,
        format!("{gateway}/orders"),
        Some(&erin_access),
        None,
    )
    .await;
    assert_eq!(erin.status(), 200, "another user keeps working");
    let admin_still = send(
        &stack,
        reqwest::Method::GET,
        format!("{gateway}/users"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(admin_still.status(), 200);
}
