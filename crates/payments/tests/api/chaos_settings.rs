//! The chaos settings: admins read and change them at runtime; nobody else can.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    assert_invalid_field, assert_problem, latency, outage, rate, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn an_admin_reads_the_seed_settings_by_default() {
    let app = spawn_app().await;

    let response = app.get_chaos(Some(&app.admin.token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"decline_rate": 0.5, "latency_ms": 0, "outage": "none"})
    );
}

#[tokio::test]
async fn the_settings_start_from_the_configuration() {
    let app = spawn_app_with(|config| {
        config.decline_rate = rate(0.25);
        config.latency_ms = latency(10);
        config.outage = outage("error");
    })
    .await;

    let settings: Value = app
        .get_chaos(Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        settings,
        json!({"decline_rate": 0.25, "latency_ms": 10, "outage": "error"})
    );
}

#[tokio::test]
async fn put_replaces_every_setting_and_takes_effect_at_once() {
    let app = spawn_app().await;
    let wanted = json!({"decline_rate": 1.0, "latency_ms": 5, "outage": "none"});

    let response = app
        .send_chaos(Method::PUT, Some(&app.admin.token), &wanted)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), wanted);
    let read: Value = app
        .get_chaos(Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, wanted);
    for _ in 0..10 {
        assert_eq!(app.charged(100).await["status"], "declined");
    }

    app.set_chaos(0.0, 0, "none").await;
    for _ in 0..10 {
        assert_eq!(app.charged(100).await["status"], "approved");
    }
}

#[tokio::test]
async fn put_needs_every_setting() {
    let app = spawn_app().await;

    let response = app
        .send_chaos(
            Method::PUT,
            Some(&app.admin.token),
            &json!({"decline_rate": 0.1, "latency_ms": 0}),
        )
        .await;

    assert_invalid_field(response, "outage").await;
}

#[tokio::test]
async fn patch_changes_only_the_settings_sent() {
    let app = spawn_app().await;

    let response = app
        .send_chaos(
            Method::PATCH,
            Some(&app.admin.token),
            &json!({"latency_ms": 20}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"decline_rate": 0.5, "latency_ms": 20, "outage": "none"})
    );
    let response = app
        .send_chaos(
            Method::PATCH,
            Some(&app.admin.token),
            &json!({"decline_rate": 0, "outage": "error"}),
        )
        .await;
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"decline_rate": 0.0, "latency_ms": 20, "outage": "error"})
    );
}

#[tokio::test]
async fn out_of_range_settings_are_refused_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"decline_rate": 1.5, "latency_ms": 0, "outage": "none"}),
            "decline_rate",
        ),
        (
            json!({"decline_rate": -0.1, "latency_ms": 0, "outage": "none"}),
            "decline_rate",
        ),
        (
            json!({"decline_rate": "0.5", "latency_ms": 0, "outage": "none"}),
            "decline_rate",
        ),
        (
            json!({"decline_rate": 0.5, "latency_ms": 60_001, "outage": "none"}),
            "latency_ms",
        ),
        (
            json!({"decline_rate": 0.5, "latency_ms": -1, "outage": "none"}),
            "latency_ms",
        ),
        (
            json!({"decline_rate": 0.5, "latency_ms": 1.5, "outage": "none"}),
            "latency_ms",
        ),
        (
            json!({"decline_rate": 0.5, "latency_ms": 0, "outage": "down"}),
            "outage",
        ),
        (
            json!({"decline_rate": 0.5, "latency_ms": 0, "outage": 1}),
            "outage",
        ),
    ];

    for method in [Method::PUT, Method::PATCH] {
        for (body, field) in &cases {
            let response = app
                .send_chaos(method.clone(), Some(&app.admin.token), body)
                .await;
            assert_invalid_field(response, field).await;
        }
    }
    let response = app
        .send_chaos(
            Method::PATCH,
            Some(&app.admin.token),
            &json!({"latency_ms": 10, "failure_rate": 1}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let settings: Value = app
        .get_chaos(Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings,
        json!({"decline_rate": 0.5, "latency_ms": 0, "outage": "none"})
    );
}

#[tokio::test]
async fn the_bounds_themselves_are_accepted() {
    let app = spawn_app().await;

    for body in [
        json!({"decline_rate": 0, "latency_ms": 0, "outage": "none"}),
        json!({"decline_rate": 1, "latency_ms": 60_000, "outage": "hang"}),
    ] {
        let response = app
            .send_chaos(Method::PUT, Some(&app.admin.token), &body)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn a_customer_can_neither_read_nor_change_the_settings() {
    let app = spawn_app().await;
    let token = app.customer.token.clone();

    assert_problem(
        app.get_chaos(Some(&token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    for method in [Method::PUT, Method::PATCH] {
        let valid = json!({"decline_rate": 0, "latency_ms": 0, "outage": "error"});
        let response = app.send_chaos(method.clone(), Some(&token), &valid).await;
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
        // Refused before the body is even looked at.
        let invalid = json!({"decline_rate": 7});
        let response = app.send_chaos(method, Some(&token), &invalid).await;
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }

    let settings: Value = app
        .get_chaos(Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(settings["outage"], "none");
}

#[tokio::test]
async fn an_anonymous_caller_is_asked_to_authenticate() {
    let app = spawn_app().await;

    let response = app.get_chaos(None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    for method in [Method::PUT, Method::PATCH] {
        let response = app
            .send_chaos(method, None, &json!({"outage": "error"}))
            .await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    }
    let response = app.get_chaos(Some("not.a.token")).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn the_internal_token_is_no_substitute_for_an_admin() {
    let app = spawn_app().await;

    let response = app
        .internal(Method::PUT, "/payments/chaos")
        .json(&json!({"decline_rate": 0, "latency_ms": 0, "outage": "error"}))
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn an_expired_admin_token_is_refused() {
    let app = spawn_app().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expired = app.keys.sign(&platform::Claims {
        iss: platform::auth::DEFAULT_ISSUER.to_owned(),
        sub: app.admin.id,
        name: "admin".to_owned(),
        role: platform::Role::Admin,
        iat: now - 3600,
        exp: now - 600,
        jti: uuid::Uuid::now_v7(),
        aud: Some(platform::auth::AUDIENCE.to_owned()),
        client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
    });

    let response = app
        .send_chaos(
            Method::PUT,
            Some(&expired),
            &json!({"decline_rate": 0, "latency_ms": 0, "outage": "error"}),
        )
        .await;

    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let settings: Value = app
        .get_chaos(Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(settings["outage"], "none");
}
