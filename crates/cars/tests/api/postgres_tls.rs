//! TLS to PostgreSQL, as a Neon URL (`…?sslmode=require`) needs it: the service's connections
//! to its database are really encrypted, not merely allowed to be. The whole suite also runs
//! over such a URL (`on_postgres_with_tls`); this checks what the suite cannot see.

use sqlx::Row;

use crate::helpers::{Backend, TestApp, peugeot};

#[tokio::test]
async fn the_service_connects_to_postgres_over_tls_when_the_url_requires_it() {
    let Some(app) = TestApp::spawn(
        Backend::PostgresTls,
        "the_service_connects_to_postgres_over_tls_when_the_url_requires_it",
    )
    .await
    else {
        return;
    };
    let alice = app.customer("alice");
    // A request, so the pool holds a connection while the server is asked about it.
    app.create_car(&alice, &peugeot()).await;
    let database = app.database.as_ref().expect("a PostgreSQL backend");
    let name = database
        .url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
        .expect("the URL names the database")
        .to_owned();
    let admin_url = std::env::var(test_support::POSTGRES_ENV).unwrap();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .unwrap();

    let row = sqlx::query(
        "SELECT COUNT(*) AS connections, \
         COUNT(*) FILTER (WHERE s.ssl) AS encrypted \
         FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
         WHERE a.datname = $1",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    let connections: i64 = row.try_get("connections").unwrap();
    let encrypted: i64 = row.try_get("encrypted").unwrap();

    assert!(connections >= 1, "the service holds a connection");
    assert_eq!(encrypted, connections, "every connection uses TLS");
}
