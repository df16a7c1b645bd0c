//! What surrounds a visit: it is public, only `GET` counts, the count is stored, and readiness
//! looks at the counter. Run on SQLite, the default backend.

use reqwest::StatusCode;

use crate::helpers::{assert_problem, sqlite};

#[tokio::test]
async fn a_visit_needs_no_token_and_ignores_a_bad_one() {
    let app = sqlite().await;
    assert_eq!(app.visit().await.hits, 1);
    let response = app
        .client
        .get(app.url("/hits"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.visit().await.hits, 3);
}

#[tokio::test]
async fn only_get_counts_a_visit() {
    let app = sqlite().await;
    for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
        let response = app
            .client
            .request(method, app.url("/hits"))
            .send()
            .await
            .unwrap();
        assert_problem(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
    assert_eq!(app.visit().await.hits, 1);
}

#[tokio::test]
async fn the_count_survives_a_restart() {
    let app = sqlite().await;
    app.visit().await;
    app.visit().await;
    let app = app.restarted().await;
    assert_eq!(app.visit().await.hits, 3);
}

#[tokio::test]
async fn the_count_is_kept_in_the_services_own_database_file() {
    let app = sqlite().await;
    for _ in 0..4 {
        app.visit().await;
    }
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.database_path().display()))
        .await
        .unwrap();
    let (value,): (i64,) = sqlx::query_as("SELECT value FROM counters WHERE name = 'hits'")
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    assert_eq!(value, 4);
}

#[tokio::test]
async fn readiness_checks_the_database_counter() {
    let app = sqlite().await;
    let (status, body) = app.readiness().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["service"], "hits");
    assert_eq!(body["checks"]["database"]["status"], "up");
}

#[tokio::test]
async fn a_bad_database_url_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = hits::Config {
        database_url: Some("mysql://localhost/hits".to_owned()),
        ..hits::Config::default()
    };
    let env = hits::Env {
        data_dir: dir.path().to_path_buf(),
        embedded: true,
    };
    let (wiring, _bus) = test_support::wiring(&test_support::TestKeys::new());
    let error = hits::app(&config, &env, &wiring).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("unsupported database URL scheme"),
        "{error:#}"
    );
}
