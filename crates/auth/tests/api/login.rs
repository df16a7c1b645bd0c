//! `POST /auth/login`: tokens, refusals, timing, and the failed-login lock.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, assert_problem, jwt_parts, spawn_app, spawn_app_with};

#[tokio::test]
async fn logging_in_answers_an_oauth_token_response() {
    let app = spawn_app().await;
    let registered: Value = app.register("alice", PASSWORD).await.json().await.unwrap();

    let response = app.login("alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_token.len(), 43, "256 bits in base64url");
    let (header, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], "microshop-auth");
    assert_eq!(claims["sub"], registered["id"]);
    assert_eq!(claims["name"], "alice");
    assert_eq!(claims["role"], "customer");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    let jti = uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();
    assert_eq!(jti.get_version_num(), 7);
    let mut names: Vec<_> = claims.as_object().unwrap().keys().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "name",
            "role",
            "sub"
        ]
    );
    assert_eq!(claims["aud"], "microshop");
    assert_eq!(claims["client_id"], "microshop-web");
}

#[tokio::test]
async fn the_username_is_matched_ignoring_case() {
    let app = spawn_app().await;
    app.register("MixedCase", PASSWORD).await;

    let response = app.login("mixedcase", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    let (_, claims) = jwt_parts(
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        claims["name"], "MixedCase",
        "the registered spelling is kept"
    );
}

#[tokio::test]
async fn the_access_token_lifetime_is_configurable() {
    let app = spawn_app_with(|config| config.access_token_ttl_secs = 60).await;
    app.register("bob", PASSWORD).await;

    let body: Value = app.login("bob", PASSWORD).await.json().await.unwrap();

    assert_eq!(body["expires_in"], 60);
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    app.register("carol", PASSWORD).await;

    let wrong_password = app.login("carol", "not the password").await;
    let unknown_user = app.login("nobody", "not the password").await;
    let impossible_username = app.login("no such user!", "not the password").await;

    let mut bodies = Vec::new();
    for response in [wrong_password, unknown_user, impossible_username] {
        bodies
            .push(assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
}

#[tokio::test]
async fn missing_fields_are_422_not_401() {
    let app = spawn_app().await;

    let response = app
        .post_json("/auth/login", &serde_json::json!({"username": "carol"}))
        .await;

    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "password");
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap()
}

#[tokio::test]
async fn an_unknown_user_takes_as_long_to_refuse_as_a_wrong_password() {
    let app = spawn_app().await;
    app.register("dave", PASSWORD).await;
    // Warm up connections and caches so the first sample is not an outlier.
    app.login_from("dave", "warming up!", "10.9.9.9").await;
    app.login_from("ghost", "warming up!", "10.9.9.9").await;

    let mut wrong_password = Vec::new();
    let mut unknown_user = Vec::new();
    for attempt in 0..6 {
        // A fresh client address per attempt keeps the failed-login lock out of the way.
        let ip = format!("10.0.0.{attempt}");
        let started = Instant::now();
        let response = app.login_from("dave", "not the password", &ip).await;
        wrong_password.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

        let started = Instant::now();
        let response = app
            .login_from(&format!("ghost{attempt}"), "not the password", &ip)
            .await;
        unknown_user.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    let (known, unknown) = (mean(&wrong_password), mean(&unknown_user));
    assert!(
        known < unknown * 2 && unknown < known * 2,
        "wrong password {known:?} vs unknown user {unknown:?}"
    );
}

#[tokio::test]
async fn five_failures_lock_the_username_from_that_address_with_retry_after() {
    let app = spawn_app().await;
    app.register("erin", PASSWORD).await;

    for _ in 0..5 {
        let response = app.login("erin", "not the password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app.login("erin", "not the password").await;
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (890..=900).contains(&retry_after),
        "retry after {retry_after} s"
    );
    assert_problem(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;

    // Even the right password waits, in any letter case.
    let response = app.login("ERIN", PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn the_lock_is_per_username_and_address() {
    let app = spawn_app().await;
    app.register("frank", PASSWORD).await;
    app.register("grace", PASSWORD).await;
    for _ in 0..5 {
        app.login_from("frank", "not the password", "192.0.2.1")
            .await;
    }
    assert_eq!(
        app.login_from("frank", PASSWORD, "192.0.2.1")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    assert_eq!(
        app.login_from("frank", PASSWORD, "192.0.2.2")
            .await
            .status(),
        StatusCode::OK,
        "another address is not locked"
    );
    assert_eq!(
        app.login_from("grace", PASSWORD, "192.0.2.1")
            .await
            .status(),
        StatusCode::OK,
        "another username is not locked"
    );
}

#[tokio::test]
async fn a_forged_x_forwarded_for_does_not_escape_the_lock() {
    let app = spawn_app().await;
    app.register("mallory", PASSWORD).await;
    // Calling auth directly, a new claimed address on every attempt.
    for index in 0..5 {
        let response = app
            .login_claiming("mallory", "guess", &format!("198.51.100.{index}"))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app
        .login_claiming("mallory", "guess", "198.51.100.99")
        .await;
    assert_problem(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // A forged proof is no better than none.
    let forged = app
        .client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", "198.51.100.100")
        .header(&platform::http::FORWARDED_BY_GATEWAY, "guessed")
        .json(&serde_json::json!({"username": "mallory", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(forged, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // The gateway's proof is believed: the lock was on the caller's real address.
    let forwarded = app.login_from("mallory", PASSWORD, "203.0.113.7").await;
    assert_eq!(forwarded.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_usernames_are_locked_the_same_way() {
    let app = spawn_app().await;

    for _ in 0..5 {
        assert_eq!(
            app.login("ghost", "not the password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    assert_eq!(
        app.login("ghost", "not the password").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_successful_login_clears_the_failures() {
    let app = spawn_app().await;
    app.register("heidi", PASSWORD).await;
    for _ in 0..4 {
        app.login("heidi", "not the password").await;
    }
    assert_eq!(app.login("heidi", PASSWORD).await.status(), StatusCode::OK);

    for attempt in 0..5 {
        assert_eq!(
            app.login("heidi", "not the password").await.status(),
            StatusCode::UNAUTHORIZED,
            "failure {attempt} after the success"
        );
    }
    assert_eq!(
        app.login("heidi", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn failures_expire_after_fifteen_minutes() {
    let app = spawn_app().await;
    app.register("ivan", PASSWORD).await;
    for _ in 0..5 {
        app.login("ivan", "not the password").await;
    }
    assert_eq!(
        app.login("ivan", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Age the oldest failure past the window: four remain inside it.
    sqlx::query(
        "UPDATE login_failures SET failed_at = failed_at - 900001 WHERE id = \
         (SELECT id FROM login_failures ORDER BY failed_at LIMIT 1)",
    )
    .execute(&app.db().await)
    .await
    .unwrap();

    assert_eq!(app.login("ivan", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_auth_process_sees_the_same_failures() {
    let first = spawn_app().await;
    let second = first.spawn_sibling().await;
    first.register("judy", PASSWORD).await;

    for _ in 0..5 {
        first.login("judy", "not the password").await;
    }

    let response = second.login("judy", PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}
