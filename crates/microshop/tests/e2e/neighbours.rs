//! `microshop serve <service>` finds its neighbours from the deployment's settings: a service
//! told only auth's port fetches auth's keys (JWKS) there, and its `/health/ready` says whether
//! it can, without leaving the rotation when it cannot.

use std::time::{Duration, Instant};

use microshop::settings::{self, Invocation};
use platform::server::Running;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// One service served alone, as `microshop serve <service> <args>` would, in this process.
struct Served {
    running: Running,
    shutdown: CancellationToken,
    _data: tempfile::TempDir,
}

impl Served {
    async fn start(service: &str, extra: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = ["microshop", "serve", service, "--data-dir"]
            .map(String::from)
            .into();
        args.push(data.path().to_str().unwrap().to_owned());
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let Invocation::Serve(service, settings) =
            settings::parse(args.iter().map(Into::into).collect()).unwrap()
        else {
            panic!("expected serve");
        };
        let shutdown = CancellationToken::new();
        let running = microshop::serve_one(service, &settings, shutdown.clone())
            .await
            .unwrap();
        Self {
            running,
            shutdown,
            _data: data,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.running.task.await.unwrap().unwrap();
    }
}

/// `/health/ready` as an operator on this machine sees it: the status code and the body.
async fn readiness(client: &reqwest::Client, base: &str) -> (u16, Value) {
    let response = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_service_told_only_auths_port_verifies_its_tokens_and_reports_the_jwks() {
    let client = platform::client::http_client();
    let auth = Served::start(
        "auth",
        &[
            "--auth-port",
            "0",
            "--auth-admin-password",
            "a long admin secret",
        ],
    )
    .await;
    let auth_port = auth.running.addr.port().to_string();
    assert_ne!(auth_port, "8001");
    // No MICROSHOP_AUTH_URL: auth's port is the only hint, as for every other service.
    let cars = Served::start("cars", &["--cars-port", "0", "--auth-port", &auth_port]).await;

    let credentials = json!({"username": "carla", "password": "correct horse battery"});
    let registered = client
        .post(format!("{}/auth/register", auth.url()))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let login: Value = client
        .post(format!("{}/auth/login", auth.url()))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();

    // Cars checks the token against the keys of the auth that signed it.
    let cars_list = client
        .get(format!("{}/cars", cars.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cars_list.status(),
        200,
        "{}",
        cars_list.text().await.unwrap()
    );
    let (status, body) = readiness(&client, &cars.url()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["jwks"]["status"], "up", "{body}");

    // Auth goes away: readiness says so, and names where the keys were looked for, but cars
    // stays ready (a token verified before still is).
    auth.stop().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        let (status, body) = readiness(&client, &cars.url()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ready", "{body}");
        if body["checks"]["jwks"]["status"] != "up" {
            break body;
        }
        assert!(Instant::now() < deadline, "jwks still up: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let jwks = &body["checks"]["jwks"];
    assert_eq!(jwks["status"], "degraded", "{body}");
    let reason = jwks["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("127.0.0.1:{auth_port}/.well-known/jwks.json")),
        "{reason}"
    );
    assert_eq!(body["checks"]["database"]["status"], "up", "{body}");
    let again = client
        .get(format!("{}/cars", cars.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    cars.stop().await;
}
