//! Cars, agenda and hits start like every other service when their PostgreSQL database is away:
//! the stack comes up, each answers 503 `database_unavailable` (never a 500 or a hang) and says
//! why on `/health/ready`, and each serves once the database is back, without a restart.
//!
//! The server sits behind a TCP proxy the test controls. Needs `MICROSHOP_TEST_POSTGRES_URL`
//! (skipped with a note otherwise).

use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::proxy::TcpProxy;

use crate::stack::TestStack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cars_agenda_and_hits_wait_for_a_database_away_at_start() {
    const TEST: &str = "outages::cars_agenda_and_hits_wait_for_a_database_away_at_start";
    let mut databases = Vec::new();
    for _ in ["cars", "agenda", "hits"] {
        let Some(database) = test_support::PostgresDb::create(TEST).await else {
            return;
        };
        databases.push(database);
    }
    let server = reqwest::Url::parse(&databases[0].url).unwrap();
    let proxy = TcpProxy::start(&format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    ))
    .await;
    proxy.go_down().await;
    let behind_proxy = |database: &test_support::PostgresDb| {
        let mut url = reqwest::Url::parse(&database.url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.addr().port())).unwrap();
        url.to_string()
    };
    let urls: Vec<String> = databases.iter().map(behind_proxy).collect();
    let stack = TestStack::start_with(&[
        "--cars-database-url",
        &urls[0],
        "--agenda-database-url",
        &urls[1],
        "--hits-database-url",
        &urls[2],
    ])
    .await;
    let client = &stack.client;
    let services = [
        (microshop::settings::Service::Cars, "/cars"),
        (microshop::settings::Service::Agenda, "/events"),
        (microshop::settings::Service::Hits, "/hits"),
    ];

    for (service, path) in services {
        let base = format!("http://{}", stack.addr(service));
        let asked = Instant::now();
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert!(asked.elapsed() < Duration::from_secs(5), "{service:?} hung");
        assert_eq!(response.status(), 503, "{service:?}");
        assert_eq!(response.headers()["retry-after"], "2");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "database_unavailable", "{service:?}");
        let ready = client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 503, "{service:?}");
        let body: Value = ready.json().await.unwrap();
        let reason = body["checks"]["database"]["reason"].as_str().unwrap_or("");
        assert!(reason.starts_with("unavailable: "), "{service:?}: {body}");
    }

    proxy.come_back().await;
    for (service, _) in services {
        let base = format!("http://{}", stack.addr(service));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client
                .get(format!("{base}/health/ready"))
                .send()
                .await
                .unwrap();
            if ready.status() == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{service:?} not ready 20 s after the database came back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Each serves from its database now.
    let hits: Value = client
        .get(format!("{}/hits", stack.gateway))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["hits"], 1);
    let events = client
        .get(format!("{}/events", stack.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let cars = client
        .get(format!("{}/cars", stack.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cars.status(),
        401,
        "cars answers for itself again: a token is needed"
    );
    drop(stack);
    drop(databases);
}
