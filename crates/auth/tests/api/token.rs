//! `POST /auth/token`: the OAuth 2.0 token endpoint (RFC 6749), form-encoded requests in,
//! §5.1 tokens or §5.2 errors out, sharing the JSON login's lockout and refresh rotation.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, assert_problem, jwt_parts, spawn_app, spawn_app_with};

impl TestApp {
    /// Posts `params` form-encoded to the token endpoint, as the gateway forwards it (with the
    /// forwarding proof, so the lockout keys on `127.0.0.1`).
    pub async fn token(&self, params: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/auth/token"))
            .header("x-forwarded-for", "127.0.0.1")
            .header(
                &platform::http::FORWARDED_BY_GATEWAY,
                self.wiring.internal_token.forwarding_proof(),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(params))
            .send()
            .await
            .unwrap()
    }

    pub async fn password_grant(&self, username: &str, password: &str) -> Response {
        self.token(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await
    }
}

/// `params` as an `application/x-www-form-urlencoded` body.
pub fn form(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Checks an RFC 6749 §5.2 answer: status, `error`, JSON, `no-store`; returns the body.
pub async fn assert_oauth_error(response: Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    let mut names: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["error", "error_description"]);
    body
}

#[tokio::test]
async fn the_password_grant_answers_an_rfc_6749_token_response() {
    let app = spawn_app().await;
    let registered: Value = app.register("alice", PASSWORD).await.json().await.unwrap();

    let response = app.password_grant("alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    assert!(body.get("scope").is_none(), "no scope was asked for");
    let access_token = body["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["iss"], "microshop-auth");
    assert_eq!(claims["aud"], "microshop");
    assert_eq!(claims["client_id"], "microshop-web");
    assert_eq!(claims["sub"], registered["id"]);

    let me = app.me(access_token).await;
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_client_id_given_is_carried_in_the_access_token() {
    let app = spawn_app().await;
    app.register("bob", PASSWORD).await;

    let response = app
        .token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", PASSWORD),
            ("client_id", "shop-cli"),
        ])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], "shop-cli");

    let refreshed: Value = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", "shop-cli"),
        ])
        .await
        .json()
        .await
        .unwrap();
    let (_, claims) = jwt_parts(refreshed["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], "shop-cli");
    assert_eq!(claims["aud"], "microshop");
}

#[tokio::test]
async fn the_refresh_token_grant_rotates_and_a_reused_token_is_an_invalid_grant() {
    let app = spawn_app().await;
    let session = app.signed_in("carol").await;

    let response = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &session.refresh_token),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    let successor = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(successor, session.refresh_token);
    assert_eq!(body["token_type"], "Bearer");

    // The JSON route and the token endpoint share one rotation: a replay at either kills the
    // family, the successor included.
    let reused = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &session.refresh_token),
        ])
        .await;
    let body = assert_oauth_error(reused, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
    assert_problem(
        app.refresh(&successor).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;

    let unknown = app
        .token(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
        .await;
    assert_oauth_error(unknown, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn an_expired_refresh_token_is_an_invalid_grant() {
    let app = spawn_app_with(|config| config.refresh_token_ttl_secs = 1).await;
    let session = app.signed_in("frank").await;

    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let response = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &session.refresh_token),
        ])
        .await;
    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_are_the_same_invalid_grant() {
    let app = spawn_app().await;
    app.register("dave", PASSWORD).await;

    let wrong = app.password_grant("dave", "not the password").await;
    let wrong = assert_oauth_error(wrong, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let unknown = app.password_grant("nobody-here", PASSWORD).await;
    let unknown = assert_oauth_error(unknown, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(wrong, unknown, "the answer tells nothing about who exists");
}

#[tokio::test]
async fn failures_at_either_door_count_toward_one_lockout() {
    let app = spawn_app().await;
    app.register("erin", PASSWORD).await;

    for attempt in 0..5 {
        let response = if attempt % 2 == 0 {
            app.password_grant("erin", "not the password").await
        } else {
            app.login("erin", "not the password").await
        };
        assert!(response.status().is_client_error());
    }

    let locked = app.password_grant("erin", PASSWORD).await;
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&retry_after), "{retry_after}");
    let body = assert_oauth_error(locked, StatusCode::TOO_MANY_REQUESTS, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Too many failed logins"),
        "{body}"
    );
    assert_problem(
        app.login("erin", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_requests() {
    let app = spawn_app().await;
    app.register("grace", PASSWORD).await;

    let json = app
        .client
        .post(app.url("/auth/token"))
        .json(&serde_json::json!({"grant_type": "password", "username": "grace", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(json, StatusCode::BAD_REQUEST, "invalid_request").await;

    let no_grant = app
        .token(&[("username", "grace"), ("password", PASSWORD)])
        .await;
    assert_oauth_error(no_grant, StatusCode::BAD_REQUEST, "invalid_request").await;

    let no_password = app
        .token(&[("grant_type", "password"), ("username", "grace")])
        .await;
    let body = assert_oauth_error(no_password, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{body}"
    );

    // RFC 6749 §3.1: an empty value is an omitted parameter.
    let empty_token = app
        .token(&[("grant_type", "refresh_token"), ("refresh_token", "")])
        .await;
    assert_oauth_error(empty_token, StatusCode::BAD_REQUEST, "invalid_request").await;

    let repeated = app
        .token(&[
            ("grant_type", "password"),
            ("username", "grace"),
            ("username", "mallory"),
            ("password", PASSWORD),
        ])
        .await;
    assert_oauth_error(repeated, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn unknown_grant_types_and_scopes_are_refused() {
    let app = spawn_app().await;
    app.register("heidi", PASSWORD).await;

    let code = app
        .token(&[("grant_type", "authorization_code"), ("code", "x")])
        .await;
    assert_oauth_error(code, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;

    let scoped = app
        .token(&[
            ("grant_type", "password"),
            ("username", "heidi"),
            ("password", PASSWORD),
            ("scope", "admin"),
        ])
        .await;
    assert_oauth_error(scoped, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn client_authentication_and_bad_client_ids_are_invalid_clients() {
    let app = spawn_app().await;
    app.register("ivan", PASSWORD).await;

    let basic = app
        .client
        .post(app.url("/auth/token"))
        .basic_auth("shop-cli", Some("secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "password"),
            ("username", "ivan"),
            ("password", PASSWORD),
        ]))
        .send()
        .await
        .unwrap();
    let www_authenticate = basic.headers()["www-authenticate"].clone();
    assert_eq!(www_authenticate, "Basic realm=\"microshop\"");
    assert_oauth_error(basic, StatusCode::UNAUTHORIZED, "invalid_client").await;

    for params in [
        [("client_id", "shop-cli"), ("client_secret", "secret")],
        [("client_id", "has spaces"), ("scope", "")],
    ] {
        let mut all = vec![
            ("grant_type", "password"),
            ("username", "ivan"),
            ("password", PASSWORD),
        ];
        all.extend(params);
        let response = app.token(&all).await;
        assert!(response.headers().contains_key("www-authenticate"));
        assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
}

#[tokio::test]
async fn the_authorization_server_metadata_names_what_exists() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let metadata: Value = response.json().await.unwrap();
    let base = app.url("");
    assert_eq!(metadata["issuer"], "microshop-auth");
    assert_eq!(metadata["token_endpoint"], format!("{base}/auth/token"));
    assert_eq!(
        metadata["jwks_uri"],
        format!("{base}/.well-known/jwks.json")
    );
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!(["password", "refresh_token"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        serde_json::json!(["none"])
    );
    assert_eq!(metadata["response_types_supported"], serde_json::json!([]));
    assert!(metadata.get("revocation_endpoint").is_none());
    assert!(metadata.get("authorization_endpoint").is_none());

    // The endpoints it names answer.
    let jwks = app
        .client
        .get(metadata["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_metadata_urls_follow_the_public_url_or_an_url_issuer() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://shop.example/".into());
    })
    .await;
    let metadata: Value = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["token_endpoint"],
        "https://shop.example/auth/token"
    );
    assert_eq!(
        metadata["jwks_uri"],
        "https://shop.example/.well-known/jwks.json"
    );

    let app = spawn_app_with(|config| config.issuer = "https://id.shop.example".into()).await;
    let metadata: Value = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], "https://id.shop.example");
    assert_eq!(
        metadata["token_endpoint"],
        "https://id.shop.example/auth/token"
    );
}
