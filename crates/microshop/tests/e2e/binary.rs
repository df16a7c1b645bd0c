use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_microshop");

/// The binary started with every port free and a fresh data folder.
pub(crate) struct Running {
    child: Child,
    /// The gateway's base URL, from the banner.
    pub(crate) gateway: String,
    pub(crate) data: tempfile::TempDir,
    started: Instant,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_up() -> Running {
    start_up_with(&[])
}

/// [`start_up`] with more environment variables.
pub(crate) fn start_up_with(envs: &[(&str, String)]) -> Running {
    let data = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = Command::new(BINARY)
        .arg("up")
        .env("MICROSHOP_DATA_DIR", data.path())
        .envs(microshop::EMBEDDED_SERVICES.iter().map(|service| {
            (
                format!("MICROSHOP_{}_PORT", service.name().to_uppercase()),
                "0".to_owned(),
            )
        }))
        .env("MICROSHOP_LOG", "warn")
        .envs(envs.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let gateway = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in the banner: {line:?}"))
        .to_owned();
    assert!(
        line.contains("admin-password"),
        "banner names the password file: {line}"
    );
    Running {
        child,
        gateway,
        data,
        started,
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not exit in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn up_on_port_zero_answers_health_within_two_seconds() {
    let running = start_up();
    let client = platform::client::http_client();
    loop {
        let response = client
            .get(format!("{}/health", running.gateway))
            .send()
            .await;
        if let Ok(response) = response
            && response.status() == 200
        {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["status"], "ok", "{body}");
            break;
        }
        assert!(
            running.started.elapsed() < Duration::from_secs(2),
            "/health not 200 within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(running.started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let mut running = start_up();
    let password = std::fs::read_to_string(running.data.path().join("admin-password")).unwrap();
    let client = platform::client::http_client();
    let url = format!("{}/auth/login", running.gateway);
    // Logins hash a password on a bounded pool, so a batch of them stays in flight a while.
    let in_flight: Vec<_> = (0..8)
        .map(|_| {
            let request = client
                .post(&url)
                .json(&serde_json::json!({"username": "admin", "password": password.trim()}))
                .send();
            tokio::spawn(request)
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    sigterm(&running.child);
    for request in in_flight {
        let response = request.await.unwrap().expect("in-flight request completed");
        assert_eq!(response.status(), 200);
    }
    let status = wait_exit(&mut running.child, Duration::from_secs(11));
    assert_eq!(status.code(), Some(0));
    // Once stopped, nothing listens any more.
    assert!(
        client
            .get(format!("{}/health", running.gateway))
            .send()
            .await
            .is_err()
    );
}

#[test]
fn a_bad_setting_exits_64_with_a_clear_message() {
    let output = Command::new(BINARY)
        .env("MICROSHOP_GATEWAY_PORT", "eighty")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("gateway-port"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "no-such-setting = 1\n").unwrap();
    let output = Command::new(BINARY)
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-setting"));
}

#[test]
fn every_subcommand_has_help_listing_environment_variables() {
    for args in [
        vec!["--help"],
        vec!["up", "--help"],
        vec!["serve", "--help"],
        vec!["auth", "--help"],
        vec!["auth", "rotate-key", "--help"],
        vec!["health-check", "--help"],
    ] {
        let output = Command::new(BINARY).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Usage"), "{args:?}: {text}");
        if args[0] != "auth" || args.len() > 2 {
            assert!(
                text.contains("MICROSHOP_"),
                "{args:?} lists env vars: {text}"
            );
        }
    }
}

#[tokio::test]
async fn rotate_key_adds_a_key_that_new_tokens_use() {
    let data = tempfile::tempdir().unwrap();
    let rotate = || {
        Command::new(BINARY)
            .args(["auth", "rotate-key"])
            .env("MICROSHOP_DATA_DIR", data.path())
            .env("MICROSHOP_LOG", "warn")
            .output()
            .unwrap()
    };
    let first = rotate();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = rotate();
    assert!(second.status.success());
    assert_ne!(first.stdout, second.stdout, "each rotation names a new key");
}

/// `microshop health-check` with `args` and `env`, run off the async runtime (the test may serve
/// what it asks).
async fn health_check(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(BINARY);
    command
        .arg("health-check")
        .args(args)
        .env_remove("MICROSHOP_HEALTHCHECK_URL")
        .envs(env.iter().copied());
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// A port on the loopback that nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn health_check_exits_zero_when_the_service_is_ready_and_one_otherwise() {
    let running = start_up();
    let ready_url = format!("{}/health/ready", running.gateway);
    let port = running.gateway.rsplit(':').next().unwrap().to_owned();
    let client = platform::client::http_client();
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.get(&ready_url).send().await.map(|r| r.status()).ok()
        != Some(reqwest::StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "the gateway never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Asked by URL, by the variable, by port, and by service (its port read as `serve` reads it).
    for (args, env) in [
        (vec!["--url", ready_url.as_str()], vec![]),
        (
            vec![],
            vec![("MICROSHOP_HEALTHCHECK_URL", ready_url.as_str())],
        ),
        (vec!["--port", port.as_str()], vec![]),
        (
            vec!["gateway"],
            vec![("MICROSHOP_GATEWAY_PORT", port.as_str())],
        ),
    ] {
        let output = health_check(&args, &env).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} {env:?}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(
            stdout.contains(&ready_url) && stdout.contains("200"),
            "{stdout}"
        );
    }

    // Nothing listening.
    let closed = closed_port().to_string();
    let output = health_check(&["--port", &closed], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("not ready:") && stderr.contains(&closed),
        "{stderr}"
    );

    // Listening, but not ready: the line says why.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let unready = format!("http://{}/health/ready", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/health/ready",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "not_ready", "checks": {"database": {"status": "down"}}})),
            )
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let output = health_check(&["--url", &unready], &[]).await;
    server.abort();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("503") && stderr.contains("database"),
        "{stderr}"
    );
}
