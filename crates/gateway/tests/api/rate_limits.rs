//! Rate limits at the edge: per address and per user, 429 with `Retry-After` as a problem,
//! health checks and metrics never limited, one limit for several gateways sharing a Redis,
//! and requests still served (limited in process) while that Redis is away.
//!
//! Clients are told apart the way the gateway tells them apart: by the TCP peer, or, behind a
//! proxy named in `--trusted-proxies`, by the address that proxy appended to
//! `X-Forwarded-For` (see `platform::http::ProxyTrust`); tests that need several clients trust
//! their own loopback connections as such a proxy. Tests that need Redis read `MICROSHOP_TEST_REDIS_URL` and skip
//! with a printed reason when it is unset; each uses a key prefix of its own.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::support::{FakeUpstream, GatewaySetup, TestGateway, TestKeys, assert_problem};

/// Checks a 429 answer: a problem with `scope`, and a whole number of seconds ≥ 1 to wait.
async fn assert_rate_limited(response: reqwest::Response, scope: &str) -> u64 {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a 429 says when to come back")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(retry_after >= 1);
    assert!(response.headers().contains_key("x-request-id"));
    let body = assert_problem(response, 429, "rate_limited").await;
    assert_eq!(body["scope"], scope, "{body}");
    retry_after
}

/// The value of the first series of `name` whose line contains every one of `labels`.
fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

fn unique_prefix() -> String {
    format!("microshop-test:{}", Uuid::now_v7().simple())
}

/// A Redis URL where nothing listens: bound, then released.
async fn closed_redis_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("redis://{addr}")
}

async fn redis_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Milliseconds until `key` expires (-2: no such key, -1: no expiry).
async fn pttl(connection: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(connection)
        .await
        .unwrap()
}

/// Polls `/health` until its `rate_limits.status` satisfies `wanted`, returning the body.
async fn wait_for_limiter_status(app: &TestGateway, wanted: impl Fn(&str) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = app.health().await;
        if body["rate_limits"]["status"].as_str().is_some_and(&wanted) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "limiter status never came: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_address_over_its_limit_gets_a_429_problem_with_retry_after() {
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        .rate_limits(1, 0, 3)
        .behind_a_loopback_proxy()
        .start()
        .await;

    for _ in 0..3 {
        let response = app.get("/hits").send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = app.get("/hits").send().await.unwrap();
    let retry_after = assert_rate_limited(response, "ip").await;
    assert!(retry_after <= 1, "one request per second: {retry_after}");
    assert_eq!(
        upstream.requests(),
        3,
        "a refused request reached the service"
    );

    // Another client has its own allowance.
    let other = app
        .get("/hits")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    // Once the time it named has passed, the client is served again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let again = app.get("/hits").send().await.unwrap();
    assert_eq!(again.status(), 200);

    let metrics = app.metrics().await;
    let rejections = metric(&metrics, "rate_limit_rejections_total", &[r#"scope="ip""#]);
    assert!(rejections.is_some_and(|count| count >= 1.0), "{metrics}");
    let answered = metric(
        &metrics,
        "http_requests_total",
        &[
            r#"service="gateway""#,
            r#"route="/hits""#,
            r#"status="429""#,
        ],
    );
    assert!(answered.is_some_and(|count| count >= 1.0), "{metrics}");
}

#[tokio::test]
async fn a_forged_x_forwarded_for_does_not_make_a_client_someone_else() {
    // Nothing trusted (the default): the header is the client's own words.
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        .rate_limits(1, 0, 2)
        .start()
        .await;
    let mut statuses = Vec::new();
    for index in 0..6 {
        let response = app
            .get("/hits")
            .header("x-forwarded-for", format!("198.51.100.{index}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(
        statuses[2..]
            .iter()
            .filter(|status| **status == 429)
            .count()
            >= 3,
        "a new forged address every request must not reset the limit: {statuses:?}"
    );

    // The entry a client writes left of what a trusted proxy appended is ignored too.
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        .rate_limits(1, 0, 2)
        .behind_a_loopback_proxy()
        .start()
        .await;
    let mut statuses = Vec::new();
    for index in 0..6 {
        let response = app
            .get("/hits")
            .header(
                "x-forwarded-for",
                format!("198.51.100.{index}, 203.0.113.5"),
            )
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(
        statuses[2..]
            .iter()
            .filter(|status| **status == 429)
            .count()
            >= 3,
        "the client is what the trusted proxy saw, 203.0.113.5: {statuses:?}"
    );
}

#[tokio::test]
async fn a_user_is_limited_whatever_address_it_comes_from() {
    let upstream = FakeUpstream::start("orders").await;
    let app = GatewaySetup::new()
        .service("orders", &[upstream.url()])
        .rate_limits(1000, 1, 2)
        .behind_a_loopback_proxy()
        .start()
        .await;
    let token = app.keys.access_token();
    let from = |address: &str| {
        app.get("/orders")
            .bearer_auth(&token)
            .header("x-forwarded-for", address)
    };

    assert_eq!(from("203.0.113.1").send().await.unwrap().status(), 200);
    assert_eq!(from("203.0.113.2").send().await.unwrap().status(), 200);
    let response = from("203.0.113.3").send().await.unwrap();
    assert_rate_limited(response, "user").await;

    // The same address serves another user, and anonymous requests, as before.
    let other_user = app
        .authed(Method::GET, "/orders")
        .header("x-forwarded-for", "203.0.113.3")
        .send()
        .await
        .unwrap();
    assert_eq!(other_user.status(), 200);
    let anonymous = app
        .get("/products")
        .header("x-forwarded-for", "203.0.113.3")
        .send()
        .await
        .unwrap();
    assert_ne!(anonymous.status(), 429);
    // A token the gateway does not accept counts for no user: it is refused for what it is.
    let forged = app
        .get("/orders")
        .bearer_auth(TestKeys::generate("test-key").access_token())
        .send()
        .await
        .unwrap();
    assert_problem(forged, 401, "invalid_token").await;
}

#[tokio::test]
async fn health_checks_and_metrics_are_never_limited() {
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        .rate_limits(1, 1, 1)
        .start()
        .await;
    assert_eq!(app.get("/hits").send().await.unwrap().status(), 200);
    assert_eq!(app.get("/hits").send().await.unwrap().status(), 429);

    for _ in 0..10 {
        for path in ["/health/live", "/health/ready", "/health", "/metrics"] {
            let response = app.get(path).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
    }
    let body = app.health().await;
    assert_eq!(body["rate_limits"]["backend"], "in-process", "{body}");
    assert_eq!(body["rate_limits"]["status"], "ok", "{body}");
    // The limit still holds for everything else (two in a row: a second may have passed and
    // given one request back).
    let first = app.get("/hits").send().await.unwrap().status();
    let second = app.get("/hits").send().await.unwrap().status();
    assert!(
        [first, second].contains(&reqwest::StatusCode::TOO_MANY_REQUESTS),
        "{first} {second}"
    );
}

#[tokio::test]
async fn limits_of_zero_turn_rate_limiting_off() {
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        .rate_limits(0, 0, 1)
        .start()
        .await;
    for _ in 0..30 {
        assert_eq!(app.get("/hits").send().await.unwrap().status(), 200);
    }
    assert_eq!(app.health().await["rate_limits"]["status"], "off");
}

/// Sends `count` requests to `path`, alternating between `gateways`; returns per gateway how
/// many were accepted and how many refused (anything else fails the test).
async fn alternate(
    gateways: &[&TestGateway],
    count: usize,
    request: impl Fn(&TestGateway) -> reqwest::RequestBuilder,
) -> Vec<(usize, usize)> {
    let mut tally = vec![(0, 0); gateways.len()];
    for index in 0..count {
        let which = index % gateways.len();
        let response = request(gateways[which]).send().await.unwrap();
        match response.status().as_u16() {
            200 => tally[which].0 += 1,
            429 => {
                tally[which].1 += 1;
                assert_rate_limited(response, "ip").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_redis_hold_one_client_to_one_combined_rate() {
    let Some(redis) = test_support::redis_url(
        "rate_limits::two_gateways_sharing_redis_hold_one_client_to_one_combined_rate",
    ) else {
        return;
    };
    // One request per second, bursts of ten: alone, each gateway would accept ten at once.
    const BURST: usize = 10;
    let prefix = unique_prefix();
    let upstream = FakeUpstream::start("hits").await;
    let start = || {
        GatewaySetup::new()
            .service("hits", &[upstream.url()])
            .rate_limits(1, 0, BURST as u32)
            .redis(&redis, &prefix)
            .start()
    };
    let (first, second) = (start().await, start().await);

    let started = Instant::now();
    let tally = alternate(&[&first, &second], 4 * BURST, |app| app.get("/hits")).await;
    let elapsed = started.elapsed();
    let accepted: usize = tally.iter().map(|(accepted, _)| accepted).sum();
    // The burst, plus one request per second that passed while the test ran.
    let allowed = BURST + elapsed.as_secs() as usize + 1;
    assert!(
        (BURST..=allowed).contains(&accepted),
        "accepted {accepted} of {} in {elapsed:?} ({tally:?}); the shared limit allows {BURST} to {allowed}",
        4 * BURST
    );
    assert!(
        tally.iter().all(|(_, refused)| *refused > 0),
        "each gateway must see what the other let through: {tally:?}"
    );
    assert_eq!(upstream.requests(), accepted);

    // One key for the client, shared, and it expires by itself (at most when the whole burst is
    // back).
    let mut connection = redis_connection(&redis).await;
    let ttl = pttl(&mut connection, &format!("{prefix}:ip:127.0.0.1")).await;
    assert!(
        ttl > 0 && ttl <= (BURST as i64 + elapsed.as_secs() as i64 + 1) * 1000,
        "ttl {ttl}"
    );
    for app in [&first, &second] {
        let body = app.health().await;
        assert_eq!(body["rate_limits"]["backend"], "redis", "{body}");
        assert_eq!(body["rate_limits"]["status"], "ok", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_redis_hold_one_user_to_one_combined_rate() {
    let Some(redis) = test_support::redis_url(
        "rate_limits::two_gateways_sharing_redis_hold_one_user_to_one_combined_rate",
    ) else {
        return;
    };
    const BURST: usize = 4;
    let prefix = unique_prefix();
    let keys = TestKeys::generate("shared-key");
    let upstream = FakeUpstream::start("orders").await;
    let start = || {
        GatewaySetup::new()
            .service("orders", &[upstream.url()])
            .keys(&keys)
            .rate_limits(0, 1, BURST as u32)
            .redis(&redis, &prefix)
            .behind_a_loopback_proxy()
            .start()
    };
    let (first, second) = (start().await, start().await);
    let token = keys.access_token();

    let started = Instant::now();
    let mut accepted = 0;
    for index in 0..4 * BURST {
        let app = if index % 2 == 0 { &first } else { &second };
        let response = app
            .get("/orders")
            .bearer_auth(&token)
            .header("x-forwarded-for", format!("198.51.100.{index}"))
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            accepted += 1;
        } else {
            assert_rate_limited(response, "user").await;
        }
    }
    let allowed = BURST + started.elapsed().as_secs() as usize + 1;
    assert!(
        (BURST..=allowed).contains(&accepted),
        "accepted {accepted}, the shared limit allows {BURST} to {allowed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_unreachable_requests_are_served_and_limited_in_process() {
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        .rate_limits(1, 0, 3)
        .redis(&closed_redis_url().await, &unique_prefix())
        .start()
        .await;

    for _ in 0..3 {
        let started = Instant::now();
        let response = app.get("/hits").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    let response = app.get("/hits").send().await.unwrap();
    assert_rate_limited(response, "ip").await;

    let response = app.get("/health").send().await.unwrap();
    assert_eq!(response.status(), 200, "a fallback is not a failure");
    let body: Value = response.json().await.unwrap();
    let limits = &body["rate_limits"];
    assert_eq!(limits["backend"], "redis", "{body}");
    let status = limits["status"].as_str().unwrap();
    assert!(
        status.starts_with("degraded: ") && status.ends_with("using the in-process limiter"),
        "{status}"
    );
    let metrics = app.metrics().await;
    let fallback = metric(&metrics, "rate_limit_fallback", &[]);
    assert!(fallback.is_some_and(|value| value >= 1.0), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limits_are_shared_again_once_redis_is_back() {
    let Some(redis) =
        test_support::redis_url("rate_limits::the_limits_are_shared_again_once_redis_is_back")
    else {
        return;
    };
    let proxy = test_support::proxy::TcpProxy::for_redis(&redis).await;
    let prefix = unique_prefix();
    let key = format!("{prefix}:ip:127.0.0.1");
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        // A request keeps its key for one second (the interval), long enough to look at it.
        .rate_limits(1, 0, 60)
        .redis(proxy.url(), &prefix)
        .start()
        .await;
    let mut connection = redis_connection(&redis).await;

    assert_eq!(app.get("/hits").send().await.unwrap().status(), 200);
    assert!(
        pttl(&mut connection, &key).await > 0,
        "the check went to Redis"
    );

    proxy.go_down().await;
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(app.get("/hits").send().await.unwrap().status(), 200);
    }
    wait_for_limiter_status(&app, |status| status.starts_with("degraded")).await;
    assert_eq!(pttl(&mut connection, &key).await, -2);

    proxy.come_back().await;
    wait_for_limiter_status(&app, |status| status == "ok").await;
    assert_eq!(app.get("/hits").send().await.unwrap().status(), 200);
    assert!(
        pttl(&mut connection, &key).await > 0,
        "the check went to Redis again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_accepts_and_never_answers_costs_one_timeout_then_limits_in_process() {
    let Some(redis) = test_support::redis_url(
        "rate_limits::a_redis_that_accepts_and_never_answers_costs_one_timeout_then_limits_in_process",
    ) else {
        return;
    };
    let proxy = test_support::proxy::TcpProxy::for_redis(&redis).await;
    let prefix = unique_prefix();
    let key = format!("{prefix}:ip:127.0.0.1");
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::new()
        .service("hits", &[upstream.url()])
        .rate_limits(1, 0, 60)
        .redis(proxy.url(), &prefix)
        .start()
        .await;
    let mut connection = redis_connection(&redis).await;
    assert_eq!(app.get("/hits").send().await.unwrap().status(), 200);

    // A hung Redis: connections are accepted, nothing is answered. No request waits longer
    // than one check's timeout, and none is refused for it.
    proxy.blackhole().await;
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    let requests = futures::future::join_all((0..10).map(|_| async {
        let started = Instant::now();
        let status = app.get("/hits").send().await.unwrap().status();
        (status, started.elapsed())
    }))
    .await;
    for (status, elapsed) in &requests {
        assert_eq!(*status, 200);
        assert!(*elapsed < Duration::from_secs(2), "{elapsed:?}");
    }
    wait_for_limiter_status(&app, |status| status.starts_with("degraded")).await;
    assert_eq!(
        pttl(&mut connection, &key).await,
        -2,
        "nothing reached Redis"
    );

    proxy.lift_blackhole().await;
    wait_for_limiter_status(&app, |status| status == "ok").await;
    assert_eq!(app.get("/hits").send().await.unwrap().status(), 200);
    assert!(
        pttl(&mut connection, &key).await > 0,
        "the check went to Redis again"
    );
}
