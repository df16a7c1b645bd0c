//! Spreading requests over a service's instances.

use crate::support::{FakeUpstream, GatewaySetup, dead_url};

#[tokio::test]
async fn requests_take_turns_across_two_instances() {
    let first = FakeUpstream::start("hits-a").await;
    let second = FakeUpstream::start("hits-b").await;
    let app = GatewaySetup::new()
        .service("hits", &[first.url(), second.url()])
        .start()
        .await;

    let mut served_by = Vec::new();
    for _ in 0..6 {
        let echo = app.echo(app.get("/hits")).await;
        served_by.push(echo.0["instance"].as_str().unwrap().to_owned());
    }

    for pair in served_by.windows(2) {
        assert_ne!(pair[0], pair[1], "{served_by:?}");
    }
    assert_eq!(first.requests(), 3);
    assert_eq!(second.requests(), 3);
}

#[tokio::test]
async fn a_request_without_body_moves_on_when_an_instance_refuses() {
    let alive = FakeUpstream::start("products-a").await;
    let app = GatewaySetup::new()
        .service("products", &[alive.url(), dead_url().await])
        .start()
        .await;

    for _ in 0..4 {
        let echo = app.echo(app.get("/products")).await;
        assert_eq!(echo.0["instance"], "products-a");
    }
    assert_eq!(alive.requests(), 4);
}
