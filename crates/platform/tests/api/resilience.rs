//! The circuit breaker's state machine (on tokio's paused clock), the retry helper, and the
//! service client against real local servers: timeouts, refused connections, fail-fast while
//! open, recovery through a probe, which answers trip the breaker and which calls are retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use platform::auth::{INTERNAL_TOKEN_HEADER, InternalToken};
use platform::client::{Call, CallError, CallPolicy, ServiceClient};
use platform::http::Readiness;
use platform::resilience::{
    BreakerConfig, BreakerState, CircuitBreaker, MAX_BACKOFF, backoff_delay, retry_with_backoff,
};
use platform::{Json, Problem};
use serde_json::{Value, json};

use crate::{TestService, spawn};

// ---------------------------------------------------------------------------------------------
// The breaker alone

fn breaker() -> CircuitBreaker {
    CircuitBreaker::new("resilience-test", "unit", BreakerConfig::default())
}

fn fail(breaker: &CircuitBreaker, times: usize) {
    for _ in 0..times {
        breaker
            .try_acquire()
            .expect("breaker lets calls through")
            .failure();
    }
}

fn succeed(breaker: &CircuitBreaker, times: usize) {
    for _ in 0..times {
        breaker
            .try_acquire()
            .expect("breaker lets calls through")
            .success();
    }
}

/// Opens a default breaker, then waits out `open_for` so it is half-open.
async fn half_open() -> CircuitBreaker {
    let breaker = breaker();
    fail(&breaker, 5);
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    breaker
}

#[test]
fn breaker_opens_after_five_consecutive_failures() {
    let breaker = breaker();
    fail(&breaker, 4);
    assert_eq!(breaker.state(), BreakerState::Closed);
    fail(&breaker, 1);
    assert_eq!(breaker.state(), BreakerState::Open);
    assert!(breaker.try_acquire().is_err());
}

#[test]
fn a_success_resets_the_consecutive_failure_count() {
    let breaker = breaker();
    fail(&breaker, 4);
    succeed(&breaker, 1);
    fail(&breaker, 4);
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn breaker_opens_when_half_the_calls_in_the_window_fail_once_min_calls_is_reached() {
    let breaker = breaker();
    // 19 calls, 10 of them failures, never two in a row: over the ratio, under min_calls.
    for call in 0..19 {
        if call % 2 == 0 {
            fail(&breaker, 1);
        } else {
            succeed(&breaker, 1);
        }
    }
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "min_calls not reached"
    );
    fail(&breaker, 1);
    assert_eq!(breaker.state(), BreakerState::Open, "20 calls, 11 failures");
}

#[test]
fn breaker_stays_closed_below_the_failure_ratio() {
    let breaker = breaker();
    // 60 calls, one in three fails.
    for call in 0..60 {
        if call % 3 == 0 {
            fail(&breaker, 1);
        } else {
            succeed(&breaker, 1);
        }
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn the_ratio_rule_is_configurable() {
    let breaker = CircuitBreaker::new(
        "resilience-test",
        "unit",
        BreakerConfig {
            consecutive_failures: 0,
            failure_ratio: 0.25,
            min_calls: 4,
            ..BreakerConfig::default()
        },
    );
    succeed(&breaker, 3);
    fail(&breaker, 1);
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn calls_older_than_the_window_are_forgotten() {
    let breaker = breaker();
    for call in 0..19 {
        if call % 2 == 0 {
            fail(&breaker, 1);
        } else {
            succeed(&breaker, 1);
        }
    }
    tokio::time::advance(Duration::from_secs(11)).await;
    // Without the 19 older calls, these 10 are under min_calls.
    for call in 0..10 {
        if call % 2 == 0 {
            fail(&breaker, 1);
        } else {
            succeed(&breaker, 1);
        }
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_half_opens_after_open_for() {
    let breaker = breaker();
    fail(&breaker, 5);
    tokio::time::advance(Duration::from_secs(29)).await;
    assert!(breaker.try_acquire().is_err());
    assert_eq!(breaker.state(), BreakerState::Open);
    assert!(breaker.open_remaining().unwrap() <= Duration::from_secs(1));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    assert_eq!(breaker.open_remaining(), None);
}

#[tokio::test(start_paused = true)]
async fn half_open_lets_exactly_one_probe_through() {
    let breaker = Arc::new(half_open().await);
    let probe = breaker.try_acquire().expect("the probe goes through");
    let other = breaker.clone();
    let second_caller = tokio::spawn(async move { other.try_acquire().is_err() });
    assert!(
        second_caller.await.unwrap(),
        "a concurrent caller is refused"
    );
    assert!(breaker.try_acquire().is_err());
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    probe.success();
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_successful_probe_closes_the_breaker_and_resets_the_counts() {
    let breaker = half_open().await;
    breaker.try_acquire().unwrap().success();
    assert_eq!(breaker.state(), BreakerState::Closed);
    fail(&breaker, 4);
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "counting starts over"
    );
    fail(&breaker, 1);
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_opens_the_breaker_again_for_open_for() {
    let breaker = half_open().await;
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    tokio::time::advance(Duration::from_secs(29)).await;
    assert!(breaker.try_acquire().is_err());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(breaker.try_acquire().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_permit_counts_as_a_failure() {
    let breaker = breaker();
    for _ in 0..5 {
        drop(breaker.try_acquire().unwrap());
    }
    assert_eq!(breaker.state(), BreakerState::Open);

    let breaker = half_open().await;
    drop(breaker.try_acquire().unwrap());
    assert_eq!(
        breaker.state(),
        BreakerState::Open,
        "a cancelled probe does not leave the breaker stuck half-open"
    );
}

#[test]
fn outcomes_of_calls_started_before_the_breaker_opened_are_ignored() {
    let breaker = breaker();
    let slow_call = breaker.try_acquire().unwrap();
    fail(&breaker, 5);
    slow_call.success();
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn states_have_stable_names() {
    assert_eq!(BreakerState::Closed.as_str(), "closed");
    assert_eq!(BreakerState::Open.as_str(), "open");
    assert_eq!(BreakerState::HalfOpen.as_str(), "half_open");
}

#[tokio::test(start_paused = true)]
async fn breaker_state_and_rejections_are_exported_as_metrics() {
    let breaker = CircuitBreaker::new(
        "breaker-metrics",
        "metrics-upstream",
        BreakerConfig::default(),
    );
    // On the caller's `/metrics`, named by the caller and the upstream.
    let render = || platform::metrics::handle().render("breaker-metrics");
    assert!(render().contains(
        r#"circuit_breaker_state{service="breaker-metrics",upstream="metrics-upstream"} 0"#
    ));
    fail(&breaker, 5);
    assert!(breaker.try_acquire().is_err());
    assert!(breaker.try_acquire().is_err());
    let text = render();
    assert!(
        text.contains(
            r#"circuit_breaker_state{service="breaker-metrics",upstream="metrics-upstream"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"circuit_breaker_rejections_total{service="breaker-metrics",upstream="metrics-upstream"} 2"#),
        "{text}"
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    let probe = breaker.try_acquire().unwrap();
    assert!(render().contains(
        r#"circuit_breaker_state{service="breaker-metrics",upstream="metrics-upstream"} 2"#
    ));
    probe.success();
    assert!(render().contains(
        r#"circuit_breaker_state{service="breaker-metrics",upstream="metrics-upstream"} 0"#
    ));
}

// ---------------------------------------------------------------------------------------------
// Retries

#[derive(Debug, PartialEq)]
enum Flake {
    Transient,
    Fatal,
}

#[tokio::test(start_paused = true)]
async fn retry_stops_after_the_given_attempts_with_bounded_waits() {
    let calls = AtomicUsize::new(0);
    let started = tokio::time::Instant::now();
    let result: Result<(), Flake> = retry_with_backoff(
        3,
        Duration::from_millis(100),
        || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Flake::Transient) }
        },
        |error| *error == Flake::Transient,
    )
    .await;
    assert_eq!(result, Err(Flake::Transient));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Waits of at most 100 ms, then 200 ms.
    assert!(started.elapsed() <= Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn retry_stops_at_an_error_that_is_not_retryable() {
    let calls = AtomicUsize::new(0);
    let result: Result<(), Flake> = retry_with_backoff(
        5,
        Duration::from_millis(100),
        || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Flake::Fatal) }
        },
        |error| *error == Flake::Transient,
    )
    .await;
    assert_eq!(result, Err(Flake::Fatal));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_returns_the_first_success() {
    let calls = AtomicUsize::new(0);
    let result = retry_with_backoff(
        5,
        Duration::from_millis(10),
        || {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if call < 2 {
                    Err(Flake::Transient)
                } else {
                    Ok(call)
                }
            }
        },
        |error| *error == Flake::Transient,
    )
    .await;
    assert_eq!(result, Ok(2));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn backoff_waits_are_jittered_and_capped() {
    let base = Duration::from_millis(100);
    let samples: Vec<Duration> = (0..200).map(|_| backoff_delay(base, 3)).collect();
    assert!(
        samples
            .iter()
            .all(|delay| *delay <= Duration::from_millis(800))
    );
    assert!(
        samples.iter().any(|delay| *delay != samples[0]),
        "waits are random"
    );
    assert!(
        samples
            .iter()
            .any(|delay| *delay > Duration::from_millis(400))
    );
    assert!((0..50).all(|retry| backoff_delay(Duration::from_secs(1), retry) <= MAX_BACKOFF));
    assert_eq!(backoff_delay(Duration::ZERO, 4), Duration::ZERO);
}

// ---------------------------------------------------------------------------------------------
// The client against real servers

const TOKEN: &str = "internal-secret";

#[derive(Default)]
struct Upstream {
    hits: AtomicUsize,
    down: AtomicBool,
}

impl Upstream {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn inspect(headers: HeaderMap, body: axum::body::Bytes) -> Json<Value> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    Json(json!({
        "token": header(INTERNAL_TOKEN_HEADER),
        "idempotency_key": header("idempotency-key"),
        "body": serde_json::from_slice::<Value>(&body).ok(),
    }))
}

async fn flaky(State(upstream): State<Arc<Upstream>>) -> impl IntoResponse {
    upstream.hits.fetch_add(1, Ordering::SeqCst);
    if upstream.down.load(Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    } else {
        Json(json!({"ok": true})).into_response()
    }
}

async fn slow(State(upstream): State<Arc<Upstream>>) -> &'static str {
    upstream.hits.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    "too late"
}

async fn conflict(State(upstream): State<Arc<Upstream>>) -> Problem {
    upstream.hits.fetch_add(1, Ordering::SeqCst);
    Problem::conflict("insufficient_stock", "Only 2 left")
}

async fn upstream() -> (TestService, Arc<Upstream>) {
    let state = Arc::new(Upstream::default());
    let routes = Router::new()
        .route("/inspect", get(inspect).post(inspect))
        .route("/flaky", get(flaky).post(flaky))
        .route("/slow", get(slow))
        .route("/conflict", post(conflict))
        .with_state(state.clone());
    (spawn(routes, Readiness::new()).await, state)
}

/// A server that accepts connections and closes them at once, counting them.
async fn hang_up_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, accepted)
}

/// A URL nothing listens on.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn policy() -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_secs(1),
        breaker: BreakerConfig {
            open_for: Duration::from_millis(200),
            ..BreakerConfig::default()
        },
        ..CallPolicy::default()
    }
}

fn service_client(url: &str, policy: CallPolicy) -> ServiceClient {
    ServiceClient::new(
        "resilience-test",
        "test-upstream",
        url,
        InternalToken::new(TOKEN),
        policy,
    )
}

#[test]
fn call_builders_mark_what_is_safe_to_repeat() {
    assert!(Call::get("/a").idempotent);
    assert!(!Call::post("/a", json!({})).idempotent);
    assert!(Call::post("/a", json!({})).idempotent().idempotent);
    assert!(Call::put("/a", json!({})).idempotent);
    assert!(Call::delete("/a").idempotent);
    let call = Call::get("/a").header("Idempotency-Key", "k1");
    assert_eq!(call.headers[0].0.as_str(), "idempotency-key");
    assert!(Call::get("/a").try_header("x-bad", "line\nbreak").is_err());
}

#[tokio::test]
async fn the_internal_token_headers_and_body_are_sent() {
    let (service, _) = upstream().await;
    let client = service_client(&format!("{}/", service.url), policy());
    let reply = client
        .call(
            Call::post("/inspect", json!({"amount_cents": 2500}))
                .header("Idempotency-Key", "key-1"),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    let seen: Value = reply.json().unwrap();
    assert_eq!(seen["token"], TOKEN);
    assert_eq!(seen["idempotency_key"], "key-1");
    assert_eq!(seen["body"], json!({"amount_cents": 2500}));

    let seen: Value = client
        .call(Call::get("/inspect"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(seen["token"], TOKEN);
}

#[tokio::test]
async fn client_errors_are_replies_and_do_not_trip_the_breaker() {
    let (service, state) = upstream().await;
    let client = service_client(&service.url, policy());
    for _ in 0..10 {
        let reply = client
            .call(Call::post("/conflict", json!({})))
            .await
            .expect("a 409 is an answer");
        assert_eq!(reply.status, StatusCode::CONFLICT);
        assert!(!reply.is_success());
        assert_eq!(reply.problem_code().as_deref(), Some("insufficient_stock"));
    }
    assert_eq!(state.hits(), 10);
    assert_eq!(client.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_reply_that_is_not_the_expected_json_is_a_decode_error() {
    let (service, _) = upstream().await;
    let client = service_client(&service.url, policy());
    let reply = client.call(Call::get("/inspect")).await.unwrap();
    let error = reply.json::<Vec<i64>>().unwrap_err();
    assert!(matches!(error, CallError::Decode(_)), "{error:?}");
    assert_eq!(reply.problem_code(), None);
}

#[tokio::test]
async fn a_slow_upstream_times_out_within_the_timeout() {
    let (service, state) = upstream().await;
    let client = service_client(
        &service.url,
        CallPolicy {
            timeout: Duration::from_millis(300),
            ..policy()
        },
    );
    let started = Instant::now();
    let error = client.call(Call::get("/slow")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, CallError::Timeout), "{error:?}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(550), "{elapsed:?}");
    assert_eq!(state.hits(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_timeout_counts_as_a_breaker_failure() {
    let (service, _) = upstream().await;
    let client = service_client(
        &service.url,
        CallPolicy {
            timeout: Duration::from_millis(100),
            breaker: BreakerConfig {
                consecutive_failures: 1,
                ..policy().breaker
            },
            ..policy()
        },
    );
    assert!(matches!(
        client.call(Call::get("/slow")).await,
        Err(CallError::Timeout)
    ));
    assert_eq!(client.breaker_state(), BreakerState::Open);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let client = service_client(&closed_port_url().await, policy());
    let error = client
        .call(Call::post("/flaky", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn the_breaker_opens_after_five_failures_and_then_fails_fast_without_calling() {
    let (service, state) = upstream().await;
    state.down.store(true, Ordering::SeqCst);
    let client = service_client(&service.url, policy());
    for _ in 0..5 {
        let error = client.call(Call::get("/flaky")).await.unwrap_err();
        assert!(matches!(error, CallError::Unavailable(_)), "{error:?}");
    }
    assert_eq!(state.hits(), 5, "a 5xx is not retried");
    assert_eq!(client.breaker_state(), BreakerState::Open);
    for _ in 0..20 {
        let started = Instant::now();
        let error = client.call(Call::get("/flaky")).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(error, CallError::BreakerOpen), "{error:?}");
        assert!(elapsed < Duration::from_millis(10), "{elapsed:?}");
    }
    assert_eq!(state.hits(), 5, "an open breaker sends nothing");
    assert!(client.breaker().open_remaining().is_some());
}

#[tokio::test]
async fn a_recovered_upstream_closes_the_breaker_after_open_for() {
    let (service, state) = upstream().await;
    state.down.store(true, Ordering::SeqCst);
    let client = service_client(&service.url, policy());
    for _ in 0..5 {
        let _ = client.call(Call::get("/flaky")).await;
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);
    state.down.store(false, Ordering::SeqCst);
    assert!(matches!(
        client.call(Call::get("/flaky")).await,
        Err(CallError::BreakerOpen)
    ));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    let reply = client.call(Call::get("/flaky")).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    assert_eq!(state.hits(), 6);
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_again() {
    let (service, state) = upstream().await;
    state.down.store(true, Ordering::SeqCst);
    let client = service_client(&service.url, policy());
    for _ in 0..5 {
        let _ = client.call(Call::get("/flaky")).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(
        client.call(Call::get("/flaky")).await,
        Err(CallError::Unavailable(_))
    ));
    assert_eq!(client.breaker_state(), BreakerState::Open);
    assert_eq!(state.hits(), 6, "one probe only");
}

#[tokio::test]
async fn idempotent_calls_are_retried_on_connection_failure() {
    let (url, accepted) = hang_up_server().await;
    let client = service_client(&url, policy());
    let error = client.call(Call::get("/flaky")).await.unwrap_err();
    assert!(matches!(error, CallError::Unavailable(_)), "{error:?}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "one try and max_retries = 2"
    );

    let (url, accepted) = hang_up_server().await;
    let client = service_client(&url, policy());
    let _ = client
        .call(Call::post("/flaky", json!({})).idempotent())
        .await
        .unwrap_err();
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "a POST marked idempotent"
    );
}

#[tokio::test]
async fn non_idempotent_calls_are_not_retried() {
    let (url, accepted) = hang_up_server().await;
    let client = service_client(&url, policy());
    let error = client
        .call(Call::post("/flaky", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Unavailable(_)), "{error:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retries_stop_when_the_breaker_opens() {
    let (url, accepted) = hang_up_server().await;
    let client = service_client(
        &url,
        CallPolicy {
            max_retries: 10,
            breaker: BreakerConfig {
                consecutive_failures: 2,
                ..policy().breaker
            },
            ..policy()
        },
    );
    let error = client.call(Call::get("/flaky")).await.unwrap_err();
    assert!(matches!(error, CallError::BreakerOpen), "{error:?}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "each attempt asks the breaker"
    );
}
