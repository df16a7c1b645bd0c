//! `user.deleted` on `user-events`: the users service deleted the profile, so auth disables the
//! account for good — no login, no refresh, no token accepted, the username kept taken — once,
//! however often the event is delivered.

use std::time::{Duration, Instant};

use platform::events::{Bus, Event, USER_EVENTS};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Session, TestApp, assert_problem, spawn_app, spawn_app_with};

/// What the users service publishes when `session`'s profile is deleted.
fn user_deleted(session: &Session) -> Event {
    Event::new(
        "/users",
        "user.deleted",
        session.id.clone(),
        json!({
            "user_id": session.id,
            "deleted_by": session.id,
            "deleted_at": "2025-01-01T00:00:00Z",
        }),
    )
}

impl TestApp {
    /// Delivers `event` on `user-events`, as the users service's relay would, and waits until
    /// auth's consumer has recorded it.
    async fn deliver(&self, event: &Event) {
        self.bus
            .publish(USER_EVENTS, &event.subject, event)
            .await
            .unwrap();
        let db = self.db().await;
        for _ in 0..500 {
            let (processed,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM processed_events WHERE consumer = 'auth' AND event_id = $1",
            )
            .bind(&event.id)
            .fetch_one(&db)
            .await
            .unwrap();
            if processed == 1 {
                db.close().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("auth did not process {} in time", event.kind);
    }

    /// `disabled_at` of the account, and how many of its refresh-token families are live.
    async fn account_state(&self, id: &str) -> (Option<i64>, i64) {
        let db = self.db().await;
        let (disabled_at,): (Option<i64>,) =
            sqlx::query_as("SELECT disabled_at FROM users WHERE id = $1")
                .bind(id)
                .fetch_one(&db)
                .await
                .unwrap();
        let (live,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .fetch_one(&db)
        .await
        .unwrap();
        db.close().await;
        (disabled_at, live)
    }

    /// `POST /auth/verify` with the token in the body: the verifier's answer alone.
    async fn verify(&self, token: &str) -> reqwest::Response {
        self.post_json("/auth/verify", &json!({"token": token}))
            .await
    }

    async fn disabled_accounts(&self, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url("/internal/disabled-accounts"));
        if let Some(token) = token {
            request = request.header(platform::auth::INTERNAL_TOKEN_HEADER, token);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn a_deleted_users_login_is_refused_like_a_wrong_password() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let wrong_password = app.login("alice", "not the password at all").await;
    let wrong_password = assert_problem(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;

    app.deliver(&user_deleted(&alice)).await;

    let body = assert_problem(
        app.login("alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(body, wrong_password, "the answer tells nothing more");
    let unknown = assert_problem(
        app.login("nobody-at-all", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(body, unknown);
}

#[tokio::test]
async fn a_deleted_users_refresh_tokens_are_all_refused() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    // A second session, on another device.
    let (_, second_refresh) = app.logged_in("alice", PASSWORD).await;

    app.deliver(&user_deleted(&alice)).await;

    for refresh_token in [&alice.refresh_token, &second_refresh] {
        assert_problem(
            app.refresh(refresh_token).await,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        )
        .await;
    }
    let (disabled_at, live_families) = app.account_state(&alice.id).await;
    assert!(disabled_at.is_some());
    assert_eq!(live_families, 0);
}

#[tokio::test]
async fn a_deleted_user_gets_invalid_grant_at_the_token_endpoint() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;

    app.deliver(&user_deleted(&alice)).await;

    let password = app.password_grant("alice", PASSWORD).await;
    crate::token::assert_oauth_error(password, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let refresh = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &alice.refresh_token),
        ])
        .await;
    crate::token::assert_oauth_error(refresh, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_deleted_users_username_stays_taken() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;

    app.deliver(&user_deleted(&alice)).await;

    assert_problem(
        app.register("alice", PASSWORD).await,
        StatusCode::CONFLICT,
        "username_taken",
    )
    .await;
    assert_problem(
        app.register("ALICE", "another good password").await,
        StatusCode::CONFLICT,
        "username_taken",
    )
    .await;
}

#[tokio::test]
async fn disabling_erases_the_accounts_personal_details() {
    let app = spawn_app().await;
    let registered = app
        .post_json(
            "/auth/register",
            &json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com", "first_name": "Alice"}),
        )
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let id = registered.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (access_token, refresh_token) = app.logged_in("alice", PASSWORD).await;
    let alice = Session {
        id: id.clone(),
        username: "alice".into(),
        access_token,
        refresh_token,
    };

    app.deliver(&user_deleted(&alice)).await;

    let db = app.db().await;
    let (details,): (i64,) = sqlx::query_as(
        "SELECT COUNT(email) + COUNT(first_name) + COUNT(last_name) + COUNT(address) \
         FROM users WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(details, 0);
}

#[tokio::test]
async fn a_redelivered_user_deleted_changes_nothing_more() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let event = user_deleted(&alice);
    app.deliver(&event).await;
    let first = app.account_state(&alice.id).await;

    tokio::time::sleep(Duration::from_millis(5)).await;
    app.bus
        .publish(USER_EVENTS, &event.subject, &event)
        .await
        .unwrap();
    // Another event after the repeat, on the same key: once it is processed, so is the repeat.
    let bob = app.signed_in("bob").await;
    app.deliver(&user_deleted(&bob)).await;

    assert_eq!(
        app.account_state(&alice.id).await,
        first,
        "disabled_at kept"
    );
    let db = app.db().await;
    let (recorded,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM processed_events WHERE consumer = 'auth' AND event_id = $1",
    )
    .bind(&event.id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(recorded, 1);
    assert_problem(
        app.login("alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn other_accounts_and_other_events_are_left_alone() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    // An event type auth does not handle, and a deletion of an id auth never issued, both
    // ahead of bob's deletion on its key: once that is processed, so are they.
    let renamed = Event::new(
        "/users",
        "user.renamed",
        alice.id.clone(),
        json!({"user_id": alice.id}),
    );
    let stranger = uuid::Uuid::now_v7();
    let unknown = Event::new(
        "/users",
        "user.deleted",
        stranger.to_string(),
        json!({"user_id": stranger}),
    );
    for event in [&renamed, &unknown] {
        app.bus.publish(USER_EVENTS, &bob.id, event).await.unwrap();
    }
    app.deliver(&user_deleted(&bob)).await;

    app.logged_in("alice", PASSWORD).await;
    assert_eq!(
        app.refresh(&alice.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_deleted_users_access_token_is_refused_by_auth_within_the_poll_interval() {
    let poll = Duration::from_millis(200);
    let app = spawn_app_with(|config| {
        config.token_revocation_poll_ms = u64::try_from(poll.as_millis()).unwrap();
    })
    .await;
    let alice = app.signed_in("alice").await;
    assert_eq!(
        app.verify(&alice.access_token).await.status(),
        StatusCode::OK
    );

    app.deliver(&user_deleted(&alice)).await;
    let disabled = Instant::now();

    loop {
        let response = app.verify(&alice.access_token).await;
        if response.status() == StatusCode::UNAUTHORIZED {
            assert_problem(response, StatusCode::UNAUTHORIZED, "token_revoked").await;
            break;
        }
        assert!(
            disabled.elapsed() < poll + Duration::from_secs(2),
            "the token was still accepted after {:?}",
            disabled.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let forward_auth = app
        .client
        .get(app.url("/auth/verify"))
        .bearer_auth(&alice.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forward_auth.status(),
        StatusCode::UNAUTHORIZED,
        "ForwardAuth too"
    );
    assert_problem(
        app.me(&alice.access_token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
}

#[tokio::test]
async fn disabled_accounts_are_listed_to_internal_callers_only() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let before = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - 1000;
    app.deliver(&user_deleted(&alice)).await;
    app.deliver(&user_deleted(&bob)).await;
    let token = app.wiring.internal_token.as_str().to_owned();

    assert_problem(
        app.disabled_accounts(None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.disabled_accounts(Some("not the token")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let response = app.disabled_accounts(Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    let ids: Vec<&str> = page["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| account["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [alice.id.as_str(), bob.id.as_str()], "oldest first");
    assert_eq!(page["more"], false);
    assert_eq!(page["retain_secs"], 15 * 60 + 60);
    let bobs_time = page["accounts"][1]["disabled_at_ms"].as_i64().unwrap();
    assert!(bobs_time >= before);

    let later: Value = app
        .client
        .get(app.url(&format!(
            "/internal/disabled-accounts?since={}",
            bobs_time + 1
        )))
        .header(platform::auth::INTERNAL_TOKEN_HEADER, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later["accounts"], json!([]));

    assert_problem(
        app.client
            .get(app.url("/internal/disabled-accounts?since=yesterday"))
            .header(platform::auth::INTERNAL_TOKEN_HEADER, &token)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_query",
    )
    .await;
}
