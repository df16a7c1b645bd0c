//! Counting visits: the greeting, and exactness under concurrency, on every backend.

use std::collections::BTreeSet;

use reqwest::{StatusCode, header};

use crate::helpers::{TestApp, Visit};

on_every_backend!(
    a_visit_is_counted_and_greeted_with_the_count,
    a_thousand_concurrent_visits_advance_the_count_by_exactly_a_thousand,
);

async fn a_visit_is_counted_and_greeted_with_the_count(app: TestApp) {
    let response = app.get_hits().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    // Each call is a visit: a cache must never answer in the service's place.
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let first: Visit = response.json().await.unwrap();
    assert_eq!(
        first,
        Visit {
            hits: 1,
            message: "Hello World! I have been seen 1 times.".to_owned(),
        }
    );

    let second = app.visit().await;
    assert_eq!(second.hits, 2);
    assert_eq!(second.message, "Hello World! I have been seen 2 times.");
}

async fn a_thousand_concurrent_visits_advance_the_count_by_exactly_a_thousand(app: TestApp) {
    let before = app.visit().await.hits;

    let visits = futures::future::join_all((0..1000).map(|_| app.visit())).await;

    let counts: BTreeSet<u64> = visits.iter().map(|visit| visit.hits).collect();
    let expected: BTreeSet<u64> = (before + 1..=before + 1000).collect();
    assert_eq!(
        counts.len(),
        1000,
        "two visits got the same count: the increment is not atomic"
    );
    assert_eq!(counts, expected, "a visit was lost or counted twice");
    for visit in &visits {
        assert_eq!(
            visit.message,
            format!("Hello World! I have been seen {} times.", visit.hits)
        );
    }
    assert_eq!(app.visit().await.hits, before + 1001);
}
