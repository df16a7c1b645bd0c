//! The probes the binary, compose and Kubernetes use.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

on_every_backend!(readiness_checks_the_database);

async fn readiness_checks_the_database(app: TestApp) {
    let response = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["service"], "cars");
    assert_eq!(body["checks"]["database"]["status"], "up");
}
