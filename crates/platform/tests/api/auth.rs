use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use base64::Engine;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{ACCESS_TOKEN_TYPE, Jwk, JwkSet, KeySource, TokenError};
use platform::http::Readiness;
use platform::{AuthUser, Claims, Role, Verifier};
use ring::signature::{Ed25519KeyPair, KeyPair};
use uuid::Uuid;

use crate::{spawn, spawn_with};

const ISSUER: &str = "test-issuer";

struct TestKey {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl TestKey {
    fn new(kid: &str) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self {
            kid: kid.to_owned(),
            pkcs8: pkcs8.as_ref().to_vec(),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    fn jwk(&self) -> Jwk {
        Jwk::ed25519(
            &self.kid,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.public),
        )
    }

    fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8)).unwrap()
    }

    /// Signs any JSON body under any `typ`, for claims a [`Claims`] cannot lack.
    fn sign_json(&self, body: &serde_json::Value, typ: &str) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, body, &EncodingKey::from_ed_der(&self.pkcs8)).unwrap()
    }
}

/// Serves a changeable key set and counts fetches; `away` makes auth unreachable.
#[derive(Clone, Default)]
struct Keys {
    set: Arc<std::sync::Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
    away: Arc<AtomicBool>,
}

impl KeySource for Keys {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<JwkSet>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let set = self.set.lock().unwrap().clone();
        let away = self.away.load(Ordering::SeqCst);
        Box::pin(async move {
            if away {
                anyhow::bail!("GET http://auth:8001/.well-known/jwks.json: connection refused")
            }
            Ok(set)
        })
    }
}

fn claims(exp_in: i64) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        iss: ISSUER.to_owned(),
        sub: Uuid::now_v7(),
        name: "alice".to_owned(),
        role: Role::Customer,
        iat: now,
        exp: now + exp_in,
        jti: Uuid::now_v7(),
        aud: Some(platform::auth::AUDIENCE.to_owned()),
        client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
    }
}

fn verifier_with(key: &TestKey) -> (Verifier, Keys) {
    let keys = Keys::default();
    keys.set.lock().unwrap().keys.push(key.jwk());
    (Verifier::new(ISSUER, keys.clone()), keys)
}

#[tokio::test]
async fn a_valid_token_verifies_and_is_cached() {
    let key = TestKey::new("k1");
    let (verifier, keys) = verifier_with(&key);
    let expected = claims(60);
    let token = key.sign(&expected);
    assert_eq!(*verifier.verify(&token).await.unwrap(), expected);
    assert_eq!(*verifier.verify(&token).await.unwrap(), expected);
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn claims_are_checked_after_the_signature() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier_with(&key);

    // Expiry has 5 s of leeway for clocks that disagree, no more.
    assert!(verifier.verify(&key.sign(&claims(-2))).await.is_ok());
    assert_eq!(
        verifier.verify(&key.sign(&claims(-8))).await.unwrap_err(),
        TokenError::Expired
    );

    // exp, iss, sub and iat are required; a well-signed token without one is malformed.
    for missing in ["exp", "iss", "sub", "iat"] {
        let mut body = serde_json::to_value(claims(60)).unwrap();
        body.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            verifier
                .verify(&key.sign_json(&body, ACCESS_TOKEN_TYPE))
                .await
                .unwrap_err(),
            TokenError::Malformed,
            "without {missing}"
        );
    }
    // An identity token, or a plain JWT, is not an access token (RFC 9068 §4: typ at+jwt).
    let body = serde_json::to_value(claims(60)).unwrap();
    for typ in ["JWT", "id+jwt"] {
        assert_eq!(
            verifier
                .verify(&key.sign_json(&body, typ))
                .await
                .unwrap_err(),
            TokenError::Malformed,
            "typ {typ}"
        );
    }
}

#[tokio::test]
async fn jwks_entries_that_are_not_ed25519_public_keys_are_ignored() {
    let key = TestKey::new("k1");
    let keys = Keys::default();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    keys.set.lock().unwrap().keys.extend([
        // Too short, not base64url, and an EC key under the Ed25519 key's kid.
        Jwk::ed25519("k1", b64.encode(&key.public[..31])),
        Jwk::ed25519("k1", "***"),
        Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            ..key.jwk()
        },
    ]);
    let verifier = Verifier::new(ISSUER, keys.clone());
    assert_eq!(
        verifier.verify(&key.sign(&claims(60))).await.unwrap_err(),
        TokenError::UnknownKey
    );
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_reason() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier_with(&key);

    assert_eq!(
        verifier.verify("not-a-jwt").await.unwrap_err(),
        TokenError::Malformed
    );
    assert_eq!(
        verifier.verify(&key.sign(&claims(-120))).await.unwrap_err(),
        TokenError::Expired
    );

    let mut foreign = claims(60);
    foreign.iss = "someone-else".into();
    assert_eq!(
        verifier.verify(&key.sign(&foreign)).await.unwrap_err(),
        TokenError::WrongIssuer
    );

    let impostor = TestKey {
        kid: "k1".into(),
        ..TestKey::new("k1")
    };
    assert_eq!(
        verifier
            .verify(&impostor.sign(&claims(60)))
            .await
            .unwrap_err(),
        TokenError::BadSignature
    );

    // HS256 keyed with the public key: the classic algorithm-confusion forgery.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    header.typ = Some(ACCESS_TOKEN_TYPE.into());
    let forged =
        jsonwebtoken::encode(&header, &claims(60), &EncodingKey::from_secret(&key.public)).unwrap();
    assert_eq!(
        verifier.verify(&forged).await.unwrap_err(),
        TokenError::WrongAlgorithm
    );

    // alg: none, unsigned.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#),
        b64.encode(serde_json::to_vec(&claims(60)).unwrap())
    );
    assert!(verifier.verify(&none).await.is_err());
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_and_one_without_aud_still_passes() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier_with(&key);
    let state = State {
        verifier: Arc::new(verifier),
    };
    let routes = Router::new()
        .route("/who", get(|user: AuthUser| async move { user.username }))
        .with_state(state);
    let service = spawn(routes, Readiness::new()).await;

    let mut elsewhere = claims(60);
    elsewhere.aud = Some("another-shop".into());
    let refused = service
        .client
        .get(service.at("/who"))
        .bearer_auth(key.sign(&elsewhere))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "invalid_token");
    assert_eq!(body["detail"], "the token is meant for another audience");

    // Tokens minted before `aud` existed are still within their lifetime after an upgrade.
    let mut older = claims(60);
    older.aud = None;
    older.client_id = None;
    let accepted = service
        .client
        .get(service.at("/who"))
        .bearer_auth(key.sign(&older))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let current = service
        .client
        .get(service.at("/who"))
        .bearer_auth(key.sign(&claims(60)))
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), 200);
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refetch_and_finds_a_rotated_key() {
    let old = TestKey::new("old");
    let (verifier, keys) = verifier_with(&old);
    verifier.verify(&old.sign(&claims(60))).await.unwrap();

    let new = TestKey::new("new");
    keys.set.lock().unwrap().keys.push(new.jwk());
    // The first fetch was just now: the refetch is rate-limited, so the new kid is not yet known.
    assert_eq!(
        verifier.verify(&new.sign(&claims(60))).await.unwrap_err(),
        TokenError::UnknownKey
    );
    for _ in 0..20 {
        let forged = TestKey::new(&Uuid::now_v7().to_string());
        assert!(verifier.verify(&forged.sign(&claims(60))).await.is_err());
    }
    assert_eq!(
        keys.fetches.load(Ordering::SeqCst),
        1,
        "refetches are rate-limited"
    );
}

#[tokio::test]
async fn the_jwks_check_says_whether_keys_can_be_fetched_without_hammering_auth() {
    let key = TestKey::new("k1");
    let (verifier, keys) = verifier_with(&key);
    assert_eq!(verifier.check_keys().await, Ok(()));
    // A probe within the refetch interval reports the last fetch instead of making another.
    assert_eq!(verifier.check_keys().await, Ok(()));
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);

    let (verifier, keys) = verifier_with(&key);
    let verifier = verifier.with_refetch_interval(Duration::ZERO);
    let token = key.sign(&claims(60));
    verifier.verify(&token).await.unwrap();
    keys.away.store(true, Ordering::SeqCst);
    assert_eq!(
        verifier.check_keys().await.unwrap_err(),
        "fetching the JWKS failed: GET http://auth:8001/.well-known/jwks.json: connection \
         refused (the 1 key(s) fetched before are still used)"
    );
    // The keys held still verify tokens.
    verifier.verify(&key.sign(&claims(60))).await.unwrap();
    keys.away.store(false, Ordering::SeqCst);
    assert_eq!(verifier.check_keys().await, Ok(()));

    let never = Keys::default();
    never.away.store(true, Ordering::SeqCst);
    let verifier = Verifier::new(ISSUER, never);
    let reason = verifier.check_keys().await.unwrap_err();
    assert!(!reason.contains("still used"), "{reason}");
}

#[tokio::test]
async fn a_failing_jwks_check_degrades_readiness_but_leaves_the_service_ready() {
    let keys = Keys::default();
    keys.away.store(true, Ordering::SeqCst);
    let verifier = Arc::new(Verifier::new(ISSUER, keys));
    let service = spawn(Router::new(), Readiness::new().jwks(verifier)).await;
    let response = service
        .client
        .get(service.at("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["jwks"]["status"], "degraded", "{body}");
    assert!(
        body["checks"]["jwks"]["reason"]
            .as_str()
            .unwrap()
            .contains("http://auth:8001/.well-known/jwks.json"),
        "{body}"
    );
}

#[derive(Clone)]
struct State {
    verifier: Arc<Verifier>,
}

impl FromRef<State> for Arc<Verifier> {
    fn from_ref(state: &State) -> Self {
        state.verifier.clone()
    }
}

#[tokio::test]
async fn the_auth_user_extractor_answers_401_problems_and_ignores_identity_headers() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier_with(&key);
    let state = State {
        verifier: Arc::new(verifier),
    };
    let routes = Router::new()
        .route("/who", get(|user: AuthUser| async move { user.username }))
        .route(
            "/maybe",
            get(|user: Option<AuthUser>| async move {
                user.map(|user| user.username)
                    .unwrap_or_else(|| "anonymous".into())
            }),
        )
        .with_state(state);
    let service = spawn(routes, Readiness::new()).await;
    let token = key.sign(&claims(60));

    let ok = service
        .client
        .get(service.at("/who"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.text().await.unwrap(), "alice");

    let missing = service
        .client
        .get(service.at("/who"))
        .header("x-user-id", Uuid::now_v7().to_string())
        .header("x-user-role", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");

    let bad = service
        .client
        .get(service.at("/who"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_eq!(bad.headers()["content-type"], "application/problem+json");

    let anonymous = service
        .client
        .get(service.at("/maybe"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.text().await.unwrap(), "anonymous");
    let bad_optional = service
        .client
        .get(service.at("/maybe"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_optional.status(), 401);
}

#[tokio::test]
async fn metrics_and_readiness_details_are_for_operators_only() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier_with(&key);
    let internal = platform::auth::InternalToken::new("internal secret");
    let readiness = Readiness::new().check("database", || async { Err("refused".to_owned()) });
    // Nobody's network is trusted: as a public client sees a server.
    let options = platform::server::ServerOptions {
        ops: Arc::new(platform::ops::OpsAccess::new(
            Vec::new(),
            Some(internal.clone()),
            Some(Arc::new(verifier)),
        )),
        ..Default::default()
    };
    let service = spawn_with(Router::new(), readiness, options).await;
    let get = |path: &str| service.client.get(service.at(path));

    let metrics = get("/metrics").send().await.unwrap();
    assert_eq!(metrics.status(), 403);
    assert_eq!(
        metrics.headers()["content-type"],
        "application/problem+json"
    );
    let ready = get("/health/ready").send().await.unwrap();
    assert_eq!(ready.status(), 503, "readiness still shows in the status");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert!(
        body.get("checks").is_none(),
        "no details for the public: {body}"
    );
    assert_eq!(get("/health/live").send().await.unwrap().status(), 200);

    // A customer is no operator; an admin and another service are.
    let mut customer = claims(60);
    let customer_token = key.sign(&customer);
    customer.role = Role::Admin;
    customer.jti = Uuid::now_v7();
    let admin_token = key.sign(&customer);
    let as_customer = get("/metrics")
        .bearer_auth(&customer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(as_customer.status(), 403);
    let as_admin = get("/metrics")
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(as_admin.status(), 200);
    assert!(
        as_admin
            .text()
            .await
            .unwrap()
            .contains("http_requests_total")
    );
    let as_service = get("/health/ready")
        .header(platform::auth::INTERNAL_TOKEN_HEADER, internal.as_str())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = as_service.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["reason"], "refused");
    let wrong_secret = get("/metrics")
        .header(platform::auth::INTERNAL_TOKEN_HEADER, "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 403);

    // The default (loopback) lets this machine's own scraper in.
    let local = spawn(Router::new(), Readiness::new()).await;
    let metrics = local.client.get(local.at("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
}
