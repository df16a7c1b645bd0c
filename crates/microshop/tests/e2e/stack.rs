use base64::Engine;
use microshop::Stack;
use microshop::settings::{self, Invocation, Service};
use serde_json::{Value, json};

/// The embedded stack on free ports with a fresh data folder.
pub struct TestStack {
    stack: Option<Stack>,
    pub client: reqwest::Client,
    pub gateway: String,
    pub auth: String,
    /// The data folder, made by the stack inside `scratch`.
    pub data: std::path::PathBuf,
    _scratch: tempfile::TempDir,
}

impl TestStack {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts with extra command-line settings, such as `["--payments-decline-rate", "0"]`.
    pub async fn start_with(extra: &[&str]) -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let data = scratch.path().join("data");
        let mut args: Vec<String> = vec!["microshop".into(), "up".into()];
        for service in microshop::EMBEDDED_SERVICES {
            args.push(format!("--{}-port", service.name()));
            args.push("0".into());
        }
        args.push("--data-dir".into());
        args.push(data.to_str().unwrap().into());
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let Invocation::Up(settings) =
            settings::parse(args.iter().map(Into::into).collect()).unwrap()
        else {
            panic!("expected up");
        };
        let stack = Stack::start(&settings).await.unwrap();
        Self {
            gateway: stack.gateway_url(),
            auth: format!("http://{}", stack.addr(Service::Auth).unwrap()),
            stack: Some(stack),
            client: platform::client::http_client(),
            data,
            _scratch: scratch,
        }
    }

    /// Where `service` listens.
    pub fn addr(&self, service: Service) -> std::net::SocketAddr {
        self.stack
            .as_ref()
            .and_then(|stack| stack.addr(service))
            .unwrap()
    }

    pub async fn register(&self, username: &str, password: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/auth/register", self.gateway))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/login", self.gateway))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn me(&self, base: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{base}/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        if let Some(stack) = self.stack.take() {
            stack.shutdown_token().cancel();
        }
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_new_user_registers_signs_in_and_is_recognised_through_the_gateway() {
    let stack = TestStack::start().await;
    let registered = stack.register("alice", "correct horse battery").await;
    assert_eq!(registered["username"], "alice");
    assert_eq!(registered["role"], "customer");
    let tokens = stack.login("alice", "correct horse battery").await;
    assert_eq!(tokens["token_type"], "Bearer");
    let me = stack
        .me(&stack.gateway, tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["id"], registered["id"]);

    let seed_alias = stack
        .client
        .get(format!("{}/me", stack.gateway))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(seed_alias.status(), 200);

    let anonymous = stack
        .client
        .get(format!("{}/auth/me", stack.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    assert!(anonymous.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn bad_tokens_are_refused_by_the_gateway_and_by_the_service_directly() {
    let stack = TestStack::start().await;
    stack.register("mallory", "correct horse battery").await;
    let tokens = stack.login("mallory", "correct horse battery").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let header = decode(parts[0]);
    let mut claims = decode(parts[1]);

    let jwks: Value = stack
        .client
        .get(format!("{}/.well-known/jwks.json", stack.gateway))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public_key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();

    // Escalate to admin by editing the payload: the signature no longer matches.
    claims["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);
    // alg none.
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let alg_none = format!(
        "{}.{}.",
        b64(none_header.to_string()),
        b64(claims.to_string())
    );
    // HS256 keyed with the public key.
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = header["kid"].as_str().map(str::to_owned);
    hs_header.typ = Some("at+jwt".into());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public_key),
    )
    .unwrap();
    // A well-formed token signed by a key auth never published.
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let mut foreign_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    foreign_header.kid = Some("not-a-real-kid".into());
    foreign_header.typ = Some("at+jwt".into());
    let unknown_kid = jsonwebtoken::encode(
        &foreign_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref()),
    )
    .unwrap();

    for (kind, token) in [
        ("malformed", "abc.def"),
        ("tampered payload", tampered.as_str()),
        ("alg none", alg_none.as_str()),
        ("HS256 with the public key", hs256.as_str()),
        ("unknown kid", unknown_kid.as_str()),
        ("refresh token", refresh),
    ] {
        for base in [&stack.gateway, &stack.auth] {
            let response = stack.me(base, token).await;
            assert_eq!(response.status(), 401, "{kind} via {base}");
            let challenge = response.headers()["www-authenticate"].to_str().unwrap();
            assert!(challenge.contains("invalid_token"), "{kind}: {challenge}");
        }
    }
}

#[tokio::test]
async fn a_forged_identity_header_changes_nothing() {
    let stack = TestStack::start().await;
    let alice = stack.register("alice", "correct horse battery").await;
    let tokens = stack.login("alice", "correct horse battery").await;
    for base in [&stack.gateway, &stack.auth] {
        let response = stack
            .client
            .get(format!("{base}/auth/me"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .header("x-user-id", uuid::Uuid::now_v7().to_string())
            .header("x-user-role", "admin")
            .header("x-user-name", "admin")
            .send()
            .await
            .unwrap();
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["id"], alice["id"], "via {base}");
        assert_eq!(me["role"], "customer", "via {base}");
    }
}
