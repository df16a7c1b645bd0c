//! `GET /.well-known/jwks.json` and signing-key rotation.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, jwt_parts, spawn_app, spawn_app_with};

fn kid_of(token: &str) -> String {
    jwt_parts(token).0["kid"].as_str().unwrap().to_owned()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_jwks_publishes_one_ed25519_public_key_and_nothing_private() {
    let app = spawn_app().await;

    let jwks = app.jwks().await;

    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["x"].as_str().unwrap().len(), 43, "32 bytes, base64url");
    assert!(key["kid"].is_string());
    let mut members: Vec<_> = key.keys().cloned().collect();
    members.sort();
    assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x"]);
}

#[tokio::test]
async fn issued_tokens_verify_with_the_published_key_alone() {
    let app = spawn_app().await;
    let session = app.signed_in("alice").await;
    let jwks = app.jwks().await;

    let key = &jwks["keys"][0];
    assert_eq!(kid_of(&session.access_token), key["kid"].as_str().unwrap());
    let decoding = DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["microshop-auth"]);
    // A standard verifier checks the audience (RFC 9068 §4); the token names the shop.
    validation.set_audience(&["microshop"]);
    let data =
        jsonwebtoken::decode::<platform::Claims>(&session.access_token, &decoding, &validation)
            .unwrap();
    assert_eq!(data.claims.name, "alice");
    assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
}

#[tokio::test]
async fn the_signing_key_survives_a_restart() {
    let app = spawn_app().await;
    let session = app.signed_in("bob").await;

    let restarted = app.spawn_sibling().await;

    assert_eq!(kids(&restarted.jwks().await), kids(&app.jwks().await));
    assert_eq!(
        restarted.me(&session.access_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_old_tokens_stay_valid() {
    let app = spawn_app_with(|config| config.signing_key_reload_secs = 0).await;
    let session = app.signed_in("carol").await;
    let old_kid = kid_of(&session.access_token);
    // Verified once before the rotation, so the verifier has already loaded the keys.
    assert_eq!(app.me(&session.access_token).await.status(), StatusCode::OK);

    let new_kid = auth::rotate_key(&app.config, &app.env).await.unwrap();

    assert_ne!(new_kid, old_kid);
    let (new_token, _) = app.logged_in("carol", PASSWORD).await;
    assert_eq!(kid_of(&new_token), new_kid);
    let published = kids(&app.jwks().await);
    assert!(
        published.contains(&old_kid) && published.contains(&new_kid),
        "{published:?}"
    );
    assert_eq!(app.me(&session.access_token).await.status(), StatusCode::OK);
    assert_eq!(
        app.me(&new_token).await.status(),
        StatusCode::OK,
        "a token from the new key verifies at once"
    );
    let (refreshed, _) = crate::helpers::tokens_of(app.refresh(&session.refresh_token).await).await;
    assert_eq!(kid_of(&refreshed), new_kid);
}

#[tokio::test]
async fn a_running_auth_picks_up_a_key_rotated_by_another_process_within_its_reload_delay() {
    let app = spawn_app_with(|config| config.signing_key_reload_secs = 2).await;
    let session = app.signed_in("dave").await;
    let old_kid = kid_of(&session.access_token);

    let new_kid = auth::rotate_key(&app.config, &app.env).await.unwrap();
    let (soon_after, _) = app.logged_in("dave", PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (later, _) = app.logged_in("dave", PASSWORD).await;

    assert_eq!(
        kid_of(&soon_after),
        old_kid,
        "the loaded key is kept for the reload delay"
    );
    assert_eq!(kid_of(&later), new_kid);
    assert_eq!(app.me(&soon_after).await.status(), StatusCode::OK);
    assert_eq!(app.me(&later).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_superseded_key_is_published_until_its_last_token_has_expired() {
    let app = spawn_app().await;
    let old_kid = kids(&app.jwks().await).remove(0);
    let new_kid = auth::rotate_key(&app.config, &app.env).await.unwrap();
    let db = app.db().await;
    let age = |seconds: i64| {
        let db = db.clone();
        async move {
            sqlx::query(
                "UPDATE signing_keys SET superseded_at = superseded_at - $1 \
                 WHERE superseded_at IS NOT NULL",
            )
            .bind(seconds * 1000)
            .execute(&db)
            .await
            .unwrap();
        }
    };

    // Default TTL 900 s + reload delay 10 s + 10 s margin: still needed after 915 s.
    age(915).await;
    assert_eq!(kids(&app.jwks().await), [new_kid.clone(), old_kid.clone()]);

    age(10).await;
    assert_eq!(kids(&app.jwks().await), std::slice::from_ref(&new_kid));

    // The next rotation deletes the retired key altogether.
    let newest = auth::rotate_key(&app.config, &app.env).await.unwrap();
    let stored: Vec<(String,)> = sqlx::query_as("SELECT kid FROM signing_keys ORDER BY created_at")
        .fetch_all(&db)
        .await
        .unwrap();
    let stored: Vec<String> = stored.into_iter().map(|(kid,)| kid).collect();
    assert_eq!(stored, [new_kid, newest]);
}
