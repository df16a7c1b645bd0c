//! The first administrator, and what must never reach a log line.

use reqwest::StatusCode;
use serde_json::Value;

use auth::config::Secret;

use crate::helpers::{
    CapturedLogs, PASSWORD, spawn_app, spawn_app_with, tokens_of, try_spawn_distributed,
};

#[tokio::test]
async fn the_first_embedded_start_creates_admin_with_a_password_file_only_its_owner_can_read() {
    let logs = CapturedLogs::default();
    let _capture = logs.install();

    let app = spawn_app().await;

    let path = app.env.data_dir.join("admin-password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    let password = app.admin_password();
    assert!(password.len() >= 20, "a long random password");
    let (access, _) = app.logged_in("admin", &password).await;
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["username"], "admin");

    let logged = logs.text();
    assert!(
        logged.contains(&path.display().to_string()),
        "the log names the file: {logged}"
    );
    assert!(!logged.contains(&password), "the log shows the password");
}

#[tokio::test]
async fn each_data_directory_gets_its_own_random_admin_password() {
    let first = spawn_app().await;
    let second = spawn_app().await;

    assert_ne!(first.admin_password(), second.admin_password());
}

#[tokio::test]
async fn a_restart_keeps_the_admin_account_and_its_password() {
    let app = spawn_app().await;
    let password = app.admin_password();

    let restarted = app.spawn_sibling().await;

    assert_eq!(restarted.admin_password(), password);
    assert_eq!(
        restarted.login("admin", &password).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn distributed_mode_refuses_to_start_without_an_admin_password() {
    let error = try_spawn_distributed(|_| {})
        .await
        .err()
        .expect("startup fails");

    assert!(
        format!("{error:#}").contains("MICROSHOP_AUTH_ADMIN_PASSWORD"),
        "{error:#}"
    );
}

#[tokio::test]
async fn distributed_mode_creates_admin_with_the_configured_password_and_no_file() {
    let app = try_spawn_distributed(|config| {
        config.admin_password = Some(Secret::new("configured admin secret"));
    })
    .await
    .unwrap();

    assert_eq!(
        app.login("admin", "configured admin secret").await.status(),
        StatusCode::OK
    );
    assert!(!app.env.data_dir.join("admin-password").exists());
}

#[tokio::test]
async fn distributed_mode_starts_without_the_password_once_admin_exists() {
    let app = try_spawn_distributed(|config| {
        config.admin_password = Some(Secret::new("configured admin secret"));
    })
    .await
    .unwrap();

    let restarted = app
        .spawn_sibling_with(|config| config.admin_password = None, false)
        .await
        .unwrap();

    assert_eq!(
        restarted
            .login("admin", "configured admin secret")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_configured_admin_password_is_used_in_embedded_mode_too() {
    let app = spawn_app_with(|config| {
        config.admin_password = Some(Secret::new("configured admin secret"));
    })
    .await;

    assert_eq!(
        app.login("admin", "configured admin secret").await.status(),
        StatusCode::OK
    );
    assert!(!app.env.data_dir.join("admin-password").exists());
}

#[tokio::test]
async fn a_configured_admin_password_that_is_too_short_is_refused() {
    let error = try_spawn_distributed(|config| {
        config.admin_password = Some(Secret::new("short"));
    })
    .await
    .err()
    .expect("startup fails");

    let message = format!("{error:#}");
    assert!(
        message.contains("MICROSHOP_AUTH_ADMIN_PASSWORD"),
        "{message}"
    );
}

#[tokio::test]
async fn no_password_hash_or_token_ever_reaches_the_log() {
    let logs = CapturedLogs::default();
    let _capture = logs.install();
    let app = spawn_app().await;

    let session = app.signed_in("alice").await;
    app.login("alice", "a wrong password").await;
    let (access, refresh) = tokens_of(app.refresh(&session.refresh_token).await).await;
    app.refresh(&session.refresh_token).await; // a replay, logged as a warning
    app.logout(&access, &refresh).await;

    let hashes: Vec<(String,)> = sqlx::query_as("SELECT password_hash FROM users")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    let logged = logs.text();
    assert!(logged.contains("logged in"), "the capture works: {logged}");
    assert!(
        logged.contains("already used") || logged.contains("revoked"),
        "{logged}"
    );
    for secret in [
        PASSWORD,
        "a wrong password",
        &app.admin_password(),
        &session.access_token,
        &session.refresh_token,
        &refresh,
    ] {
        assert!(!logged.contains(secret), "{secret} was logged");
    }
    for (hash,) in hashes {
        assert!(!logged.contains(&hash), "a password hash was logged");
        assert!(!logged.contains("$argon2"), "a password hash was logged");
    }
}
