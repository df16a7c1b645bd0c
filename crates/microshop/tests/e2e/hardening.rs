//! The embedded stack against a hostile client or neighbour: every server closes connections
//! that send their request head too slowly, the login lockout counts the caller's real address
//! whatever `X-Forwarded-For` it sends (through the gateway or calling auth directly), and no
//! other local user can read the data folder, the databases (password hashes, signing keys)
//! or the admin password.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::stack::TestStack;

#[tokio::test]
async fn every_port_closes_a_connection_whose_head_never_ends() {
    let stack = TestStack::start_with(&["--http-header-timeout-secs", "1"]).await;
    let mut waits = Vec::new();
    for service in microshop::EMBEDDED_SERVICES {
        let addr = stack.addr(*service);
        waits.push(tokio::spawn(async move {
            let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
            socket
                .write_all(b"GET /health HTTP/1.1\r\nHost: example\r\n")
                .await
                .unwrap();
            let started = Instant::now();
            let mut buffer = [0u8; 1024];
            // Whatever the server sends (a 408, or nothing), it then closes the connection.
            let closed = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            (service.name(), closed.is_ok(), started.elapsed())
        }));
    }
    for wait in waits {
        let (service, closed, after) = wait.await.unwrap();
        assert!(closed, "{service} kept a half-sent request open for 10 s");
        assert!(
            after < Duration::from_secs(4),
            "{service} closed it only after {after:?}"
        );
    }
}

#[tokio::test]
async fn a_forged_x_forwarded_for_escapes_the_login_lock_neither_through_the_gateway_nor_around_it()
{
    let stack = TestStack::start().await;
    stack.register("victim", "a long enough password").await;
    for base in [&stack.gateway, &stack.auth] {
        for index in 0..8 {
            let response = stack
                .client
                .post(format!("{base}/auth/login"))
                .header("x-forwarded-for", format!("198.51.100.{index}"))
                .json(&json!({"username": "victim", "password": "wrong guess"}))
                .send()
                .await
                .unwrap();
            let expected = if index < 5 && base == &stack.gateway {
                401
            } else {
                429
            };
            assert_eq!(
                response.status(),
                expected,
                "attempt {index} via {base}: every attempt came from 127.0.0.1"
            );
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_databases_and_secrets_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let stack = TestStack::start().await;
    // Something written everywhere, so every database has its WAL files too.
    stack.register("owner", "a long enough password").await;
    let data = stack.data.as_path();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(data), 0o700, "the data folder");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        files.push(path.file_name().unwrap().to_string_lossy().into_owned());
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    for expected in ["auth.db", "users.db", "orders.db", "admin-password"] {
        assert!(
            files.iter().any(|file| file == expected),
            "{expected} in {files:?}"
        );
    }
}
