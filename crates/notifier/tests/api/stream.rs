//! `GET /notifications/stream`: Server-Sent Events of the caller's new notifications, with
//! keep-alives and replay on reconnect.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{SseReader, assert_problem, order_event, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_new_notification_arrives_on_the_owners_stream_within_a_second() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut stream = app.stream(&alice).await;
    assert_eq!(stream.status, StatusCode::OK);
    assert!(
        stream.content_type.starts_with("text/event-stream"),
        "{}",
        stream.content_type
    );
    let event = order_event("order.created", &alice);

    let published = Instant::now();
    app.publish(&event).await;
    let frame = stream.next_notification().await;

    assert!(published.elapsed() < Duration::from_secs(1));
    let notification = frame.json();
    assert_eq!(frame.id.as_deref(), notification["id"].as_str());
    assert_eq!(notification["order_id"], event.subject);
    assert_eq!(notification["user_id"], alice.id.to_string());
    assert_eq!(notification["kind"], "order.created");
    assert_eq!(
        notification["message"],
        format!(
            "order {} created by alice: 3 items, 25.00 EUR",
            event.subject
        )
    );
    assert_eq!(notification["read"], false);
    // The pushed notification is the stored one.
    let inbox = app.inbox(&alice).await;
    assert_eq!(inbox.items[0], notification);
}

#[tokio::test]
async fn a_burst_of_notifications_arrives_complete_and_in_order() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut stream = app.stream(&alice).await;
    let mut orders = Vec::new();
    for _ in 0..30 {
        let event = order_event("order.paid", &alice);
        orders.push(event.subject.clone());
        app.publish(&event).await;
    }

    let mut received = Vec::new();
    for _ in 0..30 {
        received.push(stream.next_notification().await.json()["order_id"].clone());
    }

    assert_eq!(received, orders);
}

#[tokio::test]
async fn another_users_stream_receives_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    let mut alices = app.stream(&alice).await;
    let mut bobs = app.stream(&bob).await;

    app.publish(&order_event("order.created", &alice)).await;

    alices.next_notification().await;
    assert_eq!(bobs.next_event(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn every_open_stream_of_the_user_receives_the_notification() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut laptop = app.stream(&alice).await;
    let mut phone = app.stream(&alice).await;

    app.publish(&order_event("order.paid", &alice)).await;

    let first = laptop.next_notification().await;
    let second = phone.next_notification().await;
    assert_eq!(first, second);
}

#[tokio::test]
async fn an_idle_stream_gets_keepalive_comments() {
    let app = spawn_app_with(|config| config.keepalive_secs = 1).await;
    let alice = app.user("alice");
    let mut stream = app.stream(&alice).await;

    let frame = stream
        .next_frame(Duration::from_millis(2500))
        .await
        .expect("a keep-alive within 2.5 s");

    assert!(frame.comment_only, "{frame:?}");
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_replays_what_was_missed_then_goes_live() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    for _ in 0..3 {
        app.publish(&order_event("order.paid", &alice)).await;
    }
    let inbox = app.wait_for_inbox(&alice, 3).await;
    let ids: Vec<_> = inbox
        .items
        .iter()
        .rev()
        .map(|item| item["id"].clone())
        .collect();
    let seen = ids[0].as_str().unwrap();

    let response = app
        .open_stream_with(&alice, "", &[("last-event-id", seen)])
        .await;
    let mut stream = SseReader::new(response);

    assert_eq!(stream.next_notification().await.json()["id"], ids[1]);
    assert_eq!(stream.next_notification().await.json()["id"], ids[2]);
    let live = order_event("order.cancelled", &alice);
    app.publish(&live).await;
    assert_eq!(
        stream.next_notification().await.json()["order_id"],
        live.subject
    );
    assert_eq!(stream.next_event(Duration::from_millis(200)).await, None);
}

#[tokio::test]
async fn since_replays_too_and_last_event_id_wins_over_it() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    for _ in 0..3 {
        app.publish(&order_event("order.paid", &alice)).await;
    }
    let inbox = app.wait_for_inbox(&alice, 3).await;
    let ids: Vec<_> = inbox
        .items
        .iter()
        .rev()
        .map(|item| item["id"].clone())
        .collect();
    let (first, second) = (ids[0].as_str().unwrap(), ids[1].as_str().unwrap());

    let response = app
        .open_stream_with(&alice, &format!("?since={first}"), &[])
        .await;
    let mut since_first = SseReader::new(response);
    assert_eq!(since_first.next_notification().await.json()["id"], ids[1]);
    assert_eq!(since_first.next_notification().await.json()["id"], ids[2]);

    let response = app
        .open_stream_with(
            &alice,
            &format!("?since={first}"),
            &[("last-event-id", second)],
        )
        .await;
    let mut resumed = SseReader::new(response);
    assert_eq!(resumed.next_notification().await.json()["id"], ids[2]);
    assert_eq!(resumed.next_event(Duration::from_millis(200)).await, None);
}

#[tokio::test]
async fn a_replay_never_shows_another_users_notifications() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    app.publish(&order_event("order.paid", &alice)).await;
    app.publish(&order_event("order.paid", &bob)).await;
    app.wait_for_inbox(&bob, 1).await;
    let first = app.wait_for_inbox(&alice, 1).await.items[0]["id"].clone();
    // A since older than everything: from the start of bob's inbox.
    let response = app
        .open_stream_with(&bob, &format!("?since={}", uuid::Uuid::nil()), &[])
        .await;
    let mut stream = SseReader::new(response);

    let frame = stream.next_notification().await;

    assert_eq!(frame.json()["user_id"], bob.id.to_string());
    assert_ne!(frame.json()["id"], first);
    assert_eq!(stream.next_event(Duration::from_millis(200)).await, None);
}

#[tokio::test]
async fn a_malformed_since_is_422_but_a_malformed_last_event_id_is_ignored() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    let response = app.open_stream_with(&alice, "?since=yesterday", &[]).await;
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "since");

    let response = app
        .open_stream_with(&alice, "", &[("last-event-id", "garbage")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = SseReader::new(response);
    app.publish(&order_event("order.paid", &alice)).await;
    stream.next_notification().await;
}

#[tokio::test]
async fn the_stream_without_a_token_is_401() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/notifications/stream"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn the_stream_with_a_token_from_unknown_keys_is_401() {
    let app = spawn_app().await;
    let stranger = test_support::TestKeys::new().user("mallory");

    let response = app.open_stream_with(&stranger, "", &[]).await;

    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn open_streams_end_when_the_service_shuts_down() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut stream = app.stream(&alice).await;

    drop(app);

    assert!(stream.ends_within(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_token_past_its_expiry_opens_no_stream_even_within_the_clock_leeway() {
    let app = spawn_app().await;
    let mut alice = app.user("alice");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    alice.token = app.keys.sign(&platform::Claims {
        iss: platform::auth::DEFAULT_ISSUER.to_owned(),
        sub: alice.id,
        name: alice.username.clone(),
        role: platform::Role::Customer,
        iat: now - 60,
        exp: now - 1,
        jti: uuid::Uuid::now_v7(),
        aud: Some(platform::auth::AUDIENCE.to_owned()),
        client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
    });
    // Other routes still accept it (the verifier's leeway), so the token is not simply bad.
    assert_eq!(app.list(&alice, "").await.status(), StatusCode::OK);

    let response = app.open_stream_with(&alice, "", &[]).await;

    // Not a stream that expires at once and a client reconnecting in a loop: a 401 that makes
    // the client renew its token.
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires_and_a_fresh_token_resumes_it() {
    let app = spawn_app().await;
    let mut alice = app.user("alice");
    let fresh_token = alice.token.clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    alice.token = app.keys.sign(&platform::Claims {
        iss: platform::auth::DEFAULT_ISSUER.to_owned(),
        sub: alice.id,
        name: alice.username.clone(),
        role: platform::Role::Customer,
        iat: now,
        exp: now + 2,
        jti: uuid::Uuid::now_v7(),
        aud: Some(platform::auth::AUDIENCE.to_owned()),
        client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
    });
    let mut stream = app.stream(&alice).await;
    app.publish(&order_event("order.created", &alice)).await;
    let seen = stream.next_notification().await;

    let expired = stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("an event at the token's expiry");
    assert_eq!(expired.event.as_deref(), Some("expired"), "{expired:?}");
    assert!(
        stream.ends_within(Duration::from_secs(2)).await,
        "the stream ends"
    );

    // Missed while away, then replayed for the fresh token from Last-Event-ID.
    let missed = order_event("order.paid", &alice);
    app.publish(&missed).await;
    app.wait_for_inbox(&alice, 2).await;
    alice.token = fresh_token;
    let response = app
        .open_stream_with(
            &alice,
            "",
            &[("last-event-id", seen.id.as_deref().unwrap())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut resumed = SseReader::new(response);
    let replayed = resumed.next_notification().await;
    assert_eq!(replayed.json()["kind"], "order.paid");
}

#[tokio::test]
async fn streams_are_capped_per_user_and_per_process() {
    let app = spawn_app_with(|config| {
        config.max_streams_per_user = 2;
        config.max_streams = 3;
        // A vanished client is noticed at the next write: keep-alives make it soon.
        config.keepalive_secs = 1;
    })
    .await;
    let (alice, bob, carol) = (app.user("alice"), app.user("bob"), app.user("carol"));
    let first = app.stream(&alice).await;
    let _second = app.stream(&alice).await;
    let refused = app.open_stream_with(&alice, "", &[]).await;
    assert_eq!(refused.headers()["retry-after"], "5");
    let problem = assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
    assert_eq!(problem["max_streams_per_user"], 2);

    let _bob = app.stream(&bob).await;
    let full = app.open_stream_with(&carol, "", &[]).await;
    assert_problem(full, StatusCode::SERVICE_UNAVAILABLE, "streams_unavailable").await;

    // A closed stream gives its place back.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = app.open_stream_with(&carol, "", &[]).await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the place was not given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
