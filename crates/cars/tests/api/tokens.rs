//! Every route needs a valid access token (the seed: "si le token n'est pas fourni ou non
//! valide, renvoyez une erreur 401"), listing included; a refused request changes nothing.

use platform::{Claims, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::TestKeys;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_problem, car_path, peugeot};

on_every_backend!(
    every_route_answers_401_without_a_token,
    every_route_answers_401_with_an_invalid_token,
    a_refused_request_changes_nothing,
);

/// Each route with a body it would accept from the car's owner.
fn routes(car: &Value) -> Vec<(Method, String, Option<Value>)> {
    let path = car_path(&car["id"]);
    vec![
        (Method::GET, "/cars".to_owned(), None),
        (
            Method::GET,
            "/cars?brand=Peugeot&sort=-year".to_owned(),
            None,
        ),
        (Method::POST, "/cars".to_owned(), Some(peugeot())),
        (Method::GET, path.clone(), None),
        (Method::PUT, path.clone(), Some(peugeot())),
        (Method::PATCH, path.clone(), Some(json!({"color": "noir"}))),
        (Method::DELETE, path, None),
    ]
}

/// Tokens that must not be accepted, each with what is wrong with it.
fn bad_tokens(app: &TestApp) -> Vec<(String, &'static str)> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |iss: &str, iat: i64, exp: i64| Claims {
        iss: iss.to_owned(),
        sub: Uuid::now_v7(),
        name: "alice".to_owned(),
        role: Role::Admin,
        iat,
        exp,
        jti: Uuid::now_v7(),
        aud: Some(platform::auth::AUDIENCE.to_owned()),
        client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
    };
    let valid = app.customer("alice").token;
    let (head, rest) = valid.split_at(valid.len() - 4);
    let tampered = format!("{head}{}", if rest == "AAAA" { "BBBB" } else { "AAAA" });
    vec![
        ("not-a-jwt".to_owned(), "garbage"),
        (tampered, "a tampered signature"),
        (
            app.keys
                .sign(&claims(test_support::ISSUER, now - 3600, now - 600)),
            "expired",
        ),
        (
            app.keys.sign(&claims("someone-else", now, now + 600)),
            "another issuer",
        ),
        (
            TestKeys::new().token(Uuid::now_v7(), "alice", Role::Admin),
            "an unknown signing key",
        ),
    ]
}

async fn every_route_answers_401_without_a_token(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;

    for (method, path, body) in routes(&car) {
        let response = app.send(method.clone(), &path, None, body.as_ref()).await;
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer",
            "{method} {path}"
        );
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    }
    let basic = app
        .client
        .get(app.url("/cars"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_problem(basic, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

async fn every_route_answers_401_with_an_invalid_token(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;

    for (token, why) in bad_tokens(&app) {
        for (method, path, body) in routes(&car) {
            let response = app
                .send(method.clone(), &path, Some(&token), body.as_ref())
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {why}"
            );
            assert!(response.headers().contains_key("www-authenticate"));
            assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
        }
    }
}

async fn a_refused_request_changes_nothing(app: TestApp) {
    let alice = app.customer("alice");
    let car = app.create_car(&alice, &peugeot()).await;
    let tokens: Vec<Option<String>> = std::iter::once(None)
        .chain(bad_tokens(&app).into_iter().map(|(token, _)| Some(token)))
        .collect();

    for token in &tokens {
        for (method, path, body) in routes(&car) {
            app.send(method, &path, token.as_deref(), body.as_ref())
                .await;
        }
    }

    assert_eq!(app.read_car(&alice, &car["id"]).await, car);
    assert_eq!(app.list(&app.admin, "").await["total"], 1);
}
