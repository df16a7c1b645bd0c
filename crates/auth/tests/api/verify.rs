//! `POST /auth/verify` (alias `/auth/validate`) and the ForwardAuth `GET`, including every kind
//! of bad token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Session, TestApp, assert_problem, claims_for, jwt_parts, sign_ed25519, spawn_app,
};

async fn verify_in_body(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.post_json(path, &json!({"token": token})).await
}

async fn verify_in_header(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn forward_auth(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn assert_identity_headers(response: &reqwest::Response, session: &Session, role: &str) {
    assert_eq!(response.headers()["x-user-id"], session.id.as_str());
    assert_eq!(response.headers()["x-user-name"], session.username.as_str());
    assert_eq!(response.headers()["x-user-role"], role);
}

#[tokio::test]
async fn a_token_in_the_body_is_answered_with_its_claims() {
    let app = spawn_app().await;
    let session = app.signed_in("alice").await;

    for path in ["/auth/verify", "/auth/validate"] {
        let response = verify_in_body(&app, path, &session.access_token).await;

        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_identity_headers(&response, &session, "customer");
        let claims: Value = response.json().await.unwrap();
        assert_eq!(claims, jwt_parts(&session.access_token).1);
        assert_eq!(claims["sub"], session.id.as_str());
        assert_eq!(claims["role"], "customer");
    }
}

#[tokio::test]
async fn a_token_in_the_authorization_header_is_answered_with_its_claims() {
    let app = spawn_app().await;
    let session = app.signed_in("bob").await;

    for path in ["/auth/verify", "/auth/validate"] {
        let response = verify_in_header(&app, path, &session.access_token).await;

        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let claims: Value = response.json().await.unwrap();
        assert_eq!(claims["name"], "bob");
    }
}

#[tokio::test]
async fn forward_auth_answers_200_with_the_identity_headers() {
    let app = spawn_app().await;
    let session = app.signed_in("carol").await;

    for path in ["/auth/verify", "/auth/validate"] {
        let response = forward_auth(&app, path, Some(&session.access_token)).await;

        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_identity_headers(&response, &session, "customer");
    }
}

#[tokio::test]
async fn forward_auth_reports_the_admin_role() {
    let app = spawn_app().await;
    let (access, _) = app.logged_in("admin", &app.admin_password()).await;

    let response = forward_auth(&app, "/auth/verify", Some(&access)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-user-role"], "admin");
    assert_eq!(response.headers()["x-user-name"], "admin");
}

#[tokio::test]
async fn no_token_at_all_is_a_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let get = forward_auth(&app, "/auth/verify", None).await;
    assert_eq!(get.headers()["www-authenticate"], "Bearer");
    assert!(get.headers().get("x-user-id").is_none());
    assert_problem(get, StatusCode::UNAUTHORIZED, "missing_token").await;

    let post = app
        .client
        .post(app.url("/auth/validate"))
        .send()
        .await
        .unwrap();
    assert_problem(post, StatusCode::UNAUTHORIZED, "missing_token").await;

    let empty = verify_in_body(&app, "/auth/verify", "").await;
    assert_problem(empty, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn a_body_without_the_token_field_is_422() {
    let app = spawn_app().await;

    let response = app.post_json("/auth/verify", &json!({"jwt": "x"})).await;

    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

/// Every kind of token that must be refused, with a label for the failure message.
async fn bad_tokens(app: &TestApp, session: &Session) -> Vec<(&'static str, String)> {
    let valid = &session.access_token;
    let (header, claims) = jwt_parts(valid);
    let segments: Vec<&str> = valid.split('.').collect();
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());

    let mut tampered_claims = claims.clone();
    tampered_claims["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        segments[0],
        encode(&tampered_claims),
        segments[2]
    );

    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let alg_none = format!("{}.{}.", encode(&none_header), segments[1]);

    // HS256 keyed with the public key: the classic algorithm-confusion attack.
    let jwks = app.jwks().await;
    let public_key = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = header["kid"].as_str().map(str::to_owned);
    hs_header.typ = Some("at+jwt".into());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public_key),
    )
    .unwrap();

    // Signed by a key auth never published, under auth's own kid.
    let rogue =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let wrong_key = sign_ed25519(&header, &claims, rogue.as_ref());
    let mut rogue_header = header.clone();
    rogue_header["kid"] = json!("no-such-key");
    let unknown_kid = sign_ed25519(&rogue_header, &claims, rogue.as_ref());

    let expired = app
        .forge(
            json!({}),
            claims_for(session, json!({"iat": 1_000_000_000, "exp": 1_000_000_600})),
        )
        .await;
    let wrong_issuer = app
        .forge(
            json!({}),
            claims_for(session, json!({"iss": "someone-else"})),
        )
        .await;
    let no_exp = app
        .forge(json!({}), claims_for(session, json!({"exp": null})))
        .await;
    let plain_jwt_type = app
        .forge(json!({"typ": "JWT"}), claims_for(session, json!({})))
        .await;
    let no_kid = app
        .forge(json!({"kid": null}), claims_for(session, json!({})))
        .await;

    vec![
        ("garbage", "not-a-jwt".to_owned()),
        ("three garbage segments", "a.b.c".to_owned()),
        ("truncated", segments[..2].join(".")),
        ("tampered claims", tampered),
        ("alg none", alg_none),
        ("HS256 with the public key", hs256),
        ("signed by another key", wrong_key),
        ("unknown kid", unknown_kid),
        ("expired", expired),
        ("wrong issuer", wrong_issuer),
        ("no exp", no_exp),
        ("typ JWT instead of at+jwt", plain_jwt_type),
        ("no kid", no_kid),
        ("a refresh token", session.refresh_token.clone()),
    ]
}

#[tokio::test]
async fn every_kind_of_bad_token_is_refused_by_every_check() {
    let app = spawn_app().await;
    let session = app.signed_in("dave").await;
    let tokens = bad_tokens(&app, &session).await;

    for (label, token) in &tokens {
        let in_body = verify_in_body(&app, "/auth/verify", token).await;
        assert_eq!(
            in_body.status(),
            StatusCode::UNAUTHORIZED,
            "{label} in the body"
        );
        let body: Value = in_body.json().await.unwrap();
        assert_eq!(body["code"], "invalid_token", "{label}: {body}");
        assert!(body["detail"].is_string(), "{label}: a reason is given");

        let in_header = verify_in_header(&app, "/auth/validate", token).await;
        assert_eq!(
            in_header.status(),
            StatusCode::UNAUTHORIZED,
            "{label} in the header"
        );

        let forwarded = forward_auth(&app, "/auth/verify", Some(token)).await;
        assert_eq!(
            forwarded.status(),
            StatusCode::UNAUTHORIZED,
            "{label} forward auth"
        );
        assert_eq!(
            forwarded.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{label}"
        );
        assert!(forwarded.headers().get("x-user-id").is_none(), "{label}");

        let me = app.me(token).await;
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "{label} on /auth/me");
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_with_that_reason() {
    let app = spawn_app().await;
    let session = app.signed_in("erin").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expired = app
        .forge(
            json!({}),
            claims_for(&session, json!({"iat": now - 1000, "exp": now - 60})),
        )
        .await;

    let response = verify_in_body(&app, "/auth/verify", &expired).await;

    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn a_forged_token_signed_with_the_real_key_is_accepted() {
    // The control for the forgeries above: the helper signs exactly like auth.
    let app = spawn_app().await;
    let session = app.signed_in("frank").await;
    let token = app.forge(json!({}), claims_for(&session, json!({}))).await;

    let response = verify_in_body(&app, "/auth/verify", &token).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_malformed_authorization_header_is_refused() {
    let app = spawn_app().await;
    let session = app.signed_in("grace").await;

    for value in [
        format!("Basic {}", session.access_token),
        session.access_token.clone(),
    ] {
        let response = app
            .client
            .get(app.url("/auth/verify"))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}
