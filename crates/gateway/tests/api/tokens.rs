//! The edge's token check: every kind of bad token is refused before any service sees it, and
//! the public routes stay public.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Method;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;

use crate::support::{FakeUpstream, GatewaySetup, TestKeys, assert_problem};

/// Every way a token can be wrong, as `(what, Authorization header)`.
fn bad_authorizations(keys: &TestKeys) -> Vec<(&'static str, String)> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut bad = Vec::new();

    bad.push(("malformed", "Bearer not-a-jwt".to_owned()));
    bad.push(("three garbage parts", "Bearer aaa.bbb.ccc".to_owned()));
    bad.push(("not a bearer scheme", "Basic dXNlcjpwYXNz".to_owned()));

    let mut claims = keys.claims();
    claims.iat = now - 7200;
    claims.exp = now - 3600;
    bad.push((
        "expired",
        format!("Bearer {}", keys.sign(&keys.header(), &claims)),
    ));

    let impostor = TestKeys::generate(&keys.kid);
    bad.push((
        "wrong signature",
        format!(
            "Bearer {}",
            impostor.sign(&impostor.header(), &keys.claims())
        ),
    ));

    let valid = keys.access_token();
    let (header, rest) = valid.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let mut admin = serde_json::to_value(keys.claims()).unwrap();
    admin["role"] = json!("admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&admin).unwrap());
    bad.push((
        "tampered payload",
        format!("Bearer {header}.{forged_payload}.{signature}"),
    ));

    let none_header = URL_SAFE_NO_PAD
        .encode(json!({"alg": "none", "typ": "at+jwt", "kid": keys.kid}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&keys.claims()).unwrap());
    bad.push(("alg none", format!("Bearer {none_header}.{payload}.")));

    let mut hs256 = keys.header();
    hs256.alg = Algorithm::HS256;
    let with_public_key = jsonwebtoken::encode(
        &hs256,
        &keys.claims(),
        &EncodingKey::from_secret(&keys.public_key),
    )
    .unwrap();
    bad.push((
        "HS256 signed with the public key",
        format!("Bearer {with_public_key}"),
    ));
    let public_x = URL_SAFE_NO_PAD.encode(&keys.public_key);
    let with_public_x = jsonwebtoken::encode(
        &hs256,
        &keys.claims(),
        &EncodingKey::from_secret(public_x.as_bytes()),
    )
    .unwrap();
    bad.push((
        "HS256 signed with the JWK's x",
        format!("Bearer {with_public_x}"),
    ));

    let mut unknown_kid = keys.header();
    unknown_kid.kid = Some("rotated-away".to_owned());
    bad.push((
        "unknown kid",
        format!("Bearer {}", keys.sign(&unknown_kid, &keys.claims())),
    ));

    let mut no_kid = keys.header();
    no_kid.kid = None;
    bad.push((
        "no kid",
        format!("Bearer {}", keys.sign(&no_kid, &keys.claims())),
    ));

    let mut foreign = keys.claims();
    foreign.iss = "someone-else".to_owned();
    bad.push((
        "wrong issuer",
        format!("Bearer {}", keys.sign(&keys.header(), &foreign)),
    ));

    let mut id_token = keys.header();
    id_token.typ = Some("JWT".to_owned());
    bad.push((
        "not an access token type",
        format!("Bearer {}", keys.sign(&id_token, &keys.claims())),
    ));

    let mut random = [0u8; 32];
    SystemRandom::new().fill(&mut random).unwrap();
    bad.push((
        "refresh token (opaque)",
        format!("Bearer {}", URL_SAFE_NO_PAD.encode(random)),
    ));
    bad
}

#[tokio::test]
async fn every_bad_token_is_refused_before_reaching_a_service() {
    let upstream = FakeUpstream::start("orders").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let response = app.get("/orders").send().await.unwrap();
    assert!(
        response.headers().contains_key("x-request-id"),
        "refusals carry a request id too"
    );
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_problem(response, 401, "missing_token").await;

    for (what, authorization) in bad_authorizations(&app.keys) {
        for (method, path) in [(Method::GET, "/orders"), (Method::POST, "/orders")] {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .header("authorization", &authorization)
                .json(&json!({"items": []}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{what}: {method} {path}");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer error=\"invalid_token\"",
                "{what}"
            );
            assert_problem(response, 401, "invalid_token").await;
        }
    }

    assert_eq!(
        upstream.requests(),
        0,
        "a refused request reached the service"
    );
}

#[tokio::test]
async fn a_valid_token_passes_and_is_forwarded_unchanged() {
    let upstream = FakeUpstream::start("orders").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;
    let token = app.keys.access_token();

    for _ in 0..3 {
        // The later requests are answered from the verification cache.
        let echo = app.echo(app.get("/orders").bearer_auth(&token)).await;
        assert_eq!(
            echo.header("authorization").unwrap(),
            format!("Bearer {token}")
        );
    }
    assert_eq!(upstream.requests(), 3);
}

#[tokio::test]
async fn forged_identity_headers_never_reach_a_service() {
    let upstream = FakeUpstream::start("users").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    for request in [
        app.authed(Method::GET, "/users/me"),
        app.get("/products"),
        app.post("/auth/login").body("{}"),
    ] {
        let echo = app
            .echo(
                request
                    .header("x-user-id", "00000000-0000-0000-0000-000000000001")
                    .header("X-User-Role", "admin")
                    .header("x-user-name", "root")
                    .header("x-internal-token", "a-guess"),
            )
            .await;
        for forged in [
            "x-user-id",
            "x-user-role",
            "x-user-name",
            "x-internal-token",
        ] {
            assert!(!echo.has_header(forged), "{forged} reached the service");
        }
    }

    // Without a token, a forged identity is just an anonymous request.
    let response = app
        .get("/users/me")
        .header("x-user-id", "00000000-0000-0000-0000-000000000001")
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "missing_token").await;
}

#[tokio::test]
async fn public_routes_need_no_token() {
    let upstream = FakeUpstream::start("any").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let public = [
        (Method::POST, "/auth/register"),
        (Method::POST, "/auth/signup"),
        (Method::POST, "/auth/login"),
        (Method::POST, "/auth/refresh"),
        (Method::POST, "/auth/verify"),
        (Method::POST, "/auth/validate"),
        (Method::GET, "/auth/verify"),
        (Method::GET, "/auth/validate"),
        (Method::GET, "/.well-known/jwks.json"),
        (Method::GET, "/products"),
        (Method::GET, "/products/12"),
        (Method::HEAD, "/products/12"),
        (Method::GET, "/events"),
        (Method::GET, "/events/0190a0b0"),
        (Method::GET, "/hits"),
        (Method::POST, "/signup"),
        (Method::POST, "/login"),
    ];
    for (method, path) in &public {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method} {path}");
    }
    assert_eq!(upstream.requests(), public.len());

    for (method, path) in [
        (Method::GET, "/health"),
        (Method::GET, "/health/live"),
        (Method::GET, "/health/ready"),
        (Method::GET, "/metrics"),
        (Method::GET, "/"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method} {path}");
    }
}

#[tokio::test]
async fn private_routes_need_a_token() {
    let upstream = FakeUpstream::start("any").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    for (method, path) in [
        (Method::GET, "/auth/me"),
        (Method::GET, "/me"),
        (Method::POST, "/auth/logout"),
        (Method::GET, "/users"),
        (Method::GET, "/orders/1"),
        (Method::POST, "/products"),
        (Method::DELETE, "/products/1"),
        (Method::POST, "/events"),
        (Method::PATCH, "/events/1"),
        (Method::GET, "/notifications"),
        (Method::GET, "/cars"),
        (Method::PUT, "/payments/chaos"),
        (Method::POST, "/hits"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
    assert_eq!(upstream.requests(), 0);
}

#[tokio::test]
async fn public_routes_pass_a_token_on_for_the_service_to_judge() {
    let upstream = FakeUpstream::start("agenda").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;
    let token = app.keys.access_token();

    let echo = app.echo(app.get("/events").bearer_auth(&token)).await;
    assert_eq!(
        echo.header("authorization").unwrap(),
        format!("Bearer {token}")
    );
    // ForwardAuth's question is the token itself: auth must receive it, good or bad.
    let echo = app
        .echo(app.get("/auth/verify").bearer_auth("not-a-jwt"))
        .await;
    assert_eq!(echo.header("authorization").unwrap(), "Bearer not-a-jwt");
}
