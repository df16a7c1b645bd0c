//! Tokens of disabled accounts: a verifier with a revocation source refuses them within one
//! poll interval, cached or not, and keeps what it knows when the source fails.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use base64::Engine;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{
    ACCESS_TOKEN_TYPE, DisabledAccount, DisabledAccounts, HttpRevocationSource, InternalCaller,
    InternalToken, Jwk, JwkSet, KeySource, REVOCATION_OVERLAP_MS, RevocationSource, TokenError,
};
use platform::http::Readiness;
use platform::{AuthUser, Claims, Role, Verifier};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::spawn;

const ISSUER: &str = "test-issuer";

#[derive(Clone)]
struct Key {
    pkcs8: Vec<u8>,
    jwk: Jwk,
}

impl Key {
    fn new() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key());
        Self {
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk: Jwk::ed25519("k1", x),
        }
    }

    fn token_for(&self, user: Uuid) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: user,
            name: "alice".into(),
            role: Role::Customer,
            iat: now,
            exp: now + 600,
            jti: Uuid::now_v7(),
            aud: Some(platform::auth::AUDIENCE.to_owned()),
            client_id: Some(platform::auth::DEFAULT_CLIENT_ID.to_owned()),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&self.pkcs8)).unwrap()
    }
}

impl KeySource for Key {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<JwkSet>> {
        let set = JwkSet {
            keys: vec![self.jwk.clone()],
        };
        Box::pin(async move { Ok(set) })
    }
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// What auth knows: the disabled accounts.
#[derive(Clone, Default)]
struct FakeAuth {
    disabled: Arc<Mutex<Vec<DisabledAccount>>>,
    token: Option<InternalToken>,
}

impl FakeAuth {
    fn disable(&self, user_id: Uuid) {
        self.disabled.lock().unwrap().push(DisabledAccount {
            user_id,
            disabled_at_ms: now_ms(),
        });
    }
}

impl axum::extract::FromRef<FakeAuth> for InternalToken {
    fn from_ref(auth: &FakeAuth) -> Self {
        auth.token.clone().unwrap()
    }
}

#[derive(Deserialize)]
struct Since {
    since: Option<i64>,
}

/// Auth's `GET /internal/disabled-accounts`, as far as the verifier can tell.
async fn serve_fake_auth(auth: FakeAuth) -> String {
    async fn list(
        _caller: InternalCaller,
        State(auth): State<FakeAuth>,
        Query(since): Query<Since>,
    ) -> axum::Json<DisabledAccounts> {
        let since = since.since.unwrap_or(i64::MIN);
        let accounts = auth
            .disabled
            .lock()
            .unwrap()
            .iter()
            .filter(|account| account.disabled_at_ms >= since)
            .copied()
            .collect();
        axum::Json(DisabledAccounts {
            accounts,
            more: false,
            retain_secs: 900,
        })
    }
    let routes = Router::new()
        .route("/internal/disabled-accounts", get(list))
        .with_state(auth);
    let service = spawn(routes, Readiness::new()).await;
    let url = service.url.clone();
    // The service lives as long as the test process.
    std::mem::forget(service);
    url
}

#[tokio::test]
async fn a_token_of_a_disabled_account_is_refused_within_the_poll_interval() {
    let key = Arc::new(Key::new());
    let secret = InternalToken::random();
    let auth = FakeAuth {
        token: Some(secret.clone()),
        ..FakeAuth::default()
    };
    let url = serve_fake_auth(auth.clone()).await;
    let verifier = Arc::new(
        Verifier::new(ISSUER, Key::clone(&key))
            .with_revocations(HttpRevocationSource::new(&url, secret)),
    );
    let poll = Duration::from_millis(200);
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    verifier
        .spawn_revocation_poll(poll, shutdown)
        .expect("a verifier with a source polls");
    let alice = Uuid::now_v7();
    let bob = Uuid::now_v7();
    let alices_token = key.token_for(alice);
    let bobs_token = key.token_for(bob);
    // Verified once, so cached: the cache must not outlive the revocation.
    assert_eq!(verifier.verify(&alices_token).await.unwrap().sub, alice);

    auth.disable(alice);
    let disabled = Instant::now();
    loop {
        match verifier.verify(&alices_token).await {
            Err(TokenError::Revoked) => break,
            Ok(_) => assert!(
                disabled.elapsed() < poll + Duration::from_secs(1),
                "still accepted after {:?}",
                disabled.elapsed()
            ),
            Err(other) => panic!("refused for the wrong reason: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(verifier.is_revoked(alice));
    assert_eq!(verifier.verify(&bobs_token).await.unwrap().sub, bob);
    // A token minted later for the same account is refused too.
    assert_eq!(
        verifier.verify(&key.token_for(alice)).await.unwrap_err(),
        TokenError::Revoked
    );
}

#[tokio::test]
async fn the_extractor_answers_401_token_revoked() {
    let key = Arc::new(Key::new());
    let alice = Uuid::now_v7();
    let source = Recorded::answering(vec![vec![DisabledAccount {
        user_id: alice,
        disabled_at_ms: now_ms(),
    }]]);
    let verifier = Arc::new(Verifier::new(ISSUER, Key::clone(&key)).with_revocations(source));
    verifier.sync_revocations().await.unwrap();
    let routes = Router::new()
        .route("/me", get(|user: AuthUser| async move { user.username }))
        .with_state(verifier);
    let service = spawn(routes, Readiness::new()).await;

    let response = service
        .client
        .get(service.at("/me"))
        .bearer_auth(key.token_for(alice))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "token_revoked");
    let fine = service
        .client
        .get(service.at("/me"))
        .bearer_auth(key.token_for(Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);
}

/// A source answering pages in turn (the last one forever) and recording each `since`.
#[derive(Clone)]
struct Recorded {
    pages: Arc<Mutex<Vec<DisabledAccounts>>>,
    asked: Arc<Mutex<Vec<Option<i64>>>>,
    failing: Arc<Mutex<bool>>,
}

impl Recorded {
    fn answering(pages: Vec<Vec<DisabledAccount>>) -> Self {
        let count = pages.len();
        let pages = pages
            .into_iter()
            .enumerate()
            .map(|(index, accounts)| DisabledAccounts {
                accounts,
                more: index + 1 < count,
                retain_secs: 900,
            })
            .collect();
        Self {
            pages: Arc::new(Mutex::new(pages)),
            asked: Arc::default(),
            failing: Arc::default(),
        }
    }
}

impl RevocationSource for Recorded {
    fn disabled_since(
        &self,
        since_ms: Option<i64>,
    ) -> BoxFuture<'_, anyhow::Result<DisabledAccounts>> {
        self.asked.lock().unwrap().push(since_ms);
        let failing = *self.failing.lock().unwrap();
        let mut pages = self.pages.lock().unwrap();
        let page = if pages.len() > 1 {
            pages.remove(0)
        } else {
            pages[0].clone()
        };
        Box::pin(async move {
            if failing {
                anyhow::bail!("auth is down");
            }
            Ok(page)
        })
    }
}

#[tokio::test]
async fn a_poll_follows_the_pages_and_looks_back_before_the_newest_entry() {
    let key = Arc::new(Key::new());
    let now = now_ms();
    let first = DisabledAccount {
        user_id: Uuid::now_v7(),
        disabled_at_ms: now - 2_000,
    };
    let second = DisabledAccount {
        user_id: Uuid::now_v7(),
        disabled_at_ms: now - 1_000,
    };
    let source = Recorded::answering(vec![vec![first], vec![second], vec![]]);
    let verifier = Verifier::new(ISSUER, Key::clone(&key)).with_revocations(source.clone());

    assert_eq!(verifier.sync_revocations().await.unwrap(), 2);
    assert_eq!(
        *source.asked.lock().unwrap(),
        [
            None,
            Some(first.disabled_at_ms),
            Some(second.disabled_at_ms)
        ],
        "the first poll asks for everything, each next page starts at the last entry"
    );
    verifier.sync_revocations().await.unwrap();
    assert_eq!(
        source.asked.lock().unwrap()[3],
        Some(second.disabled_at_ms - REVOCATION_OVERLAP_MS)
    );
    assert!(verifier.is_revoked(first.user_id) && verifier.is_revoked(second.user_id));
}

#[tokio::test]
async fn entries_older_than_every_token_are_forgotten_and_a_failing_source_keeps_the_rest() {
    let key = Arc::new(Key::new());
    let now = now_ms();
    let ancient = DisabledAccount {
        user_id: Uuid::now_v7(),
        // Beyond retain_secs (900 s) and the overlap: no token of it can be live.
        disabled_at_ms: now - 3_600_000,
    };
    let recent = DisabledAccount {
        user_id: Uuid::now_v7(),
        disabled_at_ms: now,
    };
    let source = Recorded::answering(vec![vec![ancient, recent]]);
    let verifier = Verifier::new(ISSUER, Key::clone(&key)).with_revocations(source.clone());

    assert_eq!(verifier.sync_revocations().await.unwrap(), 1);
    assert!(!verifier.is_revoked(ancient.user_id));
    assert!(verifier.is_revoked(recent.user_id));

    *source.failing.lock().unwrap() = true;
    assert!(verifier.sync_revocations().await.is_err());
    assert!(
        verifier.is_revoked(recent.user_id),
        "kept while auth is down"
    );
}

#[tokio::test]
async fn a_verifier_without_a_source_does_not_poll() {
    let verifier = Arc::new(Verifier::new(ISSUER, Key::new()));
    assert!(
        verifier
            .spawn_revocation_poll(Duration::from_millis(10), CancellationToken::new())
            .is_none()
    );
    assert_eq!(verifier.sync_revocations().await.unwrap(), 0);
}
