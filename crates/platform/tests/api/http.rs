use axum::Router;
use axum::routing::{get, post};
use platform::Json;
use platform::http::Readiness;
use serde_json::{Value, json};

use crate::spawn;

#[derive(serde::Deserialize, serde::Serialize)]
struct Echo {
    name: String,
    quantity: i64,
}

fn routes() -> Router {
    Router::new()
        .route(
            "/echo",
            post(|Json(body): Json<Echo>| async move { Json(body) }),
        )
        .route(
            "/names/{name}",
            get(|axum::extract::Path(name): axum::extract::Path<String>| async move { name }),
        )
        .route(
            "/numbers/{number}",
            get(
                |axum::extract::Path(number): axum::extract::Path<u64>| async move {
                    number.to_string()
                },
            ),
        )
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("secret internal detail");
                }
                "unreachable"
            }),
        )
}

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "status {status}"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_problems() {
    let service = spawn(routes(), Readiness::new()).await;
    let (status, body) = problem(
        service
            .client
            .get(service.at("/nope"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = problem(
        service
            .client
            .get(service.at("/echo"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let wrong_method = service
        .client
        .delete(service.at("/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_method.headers()["allow"],
        "POST",
        "405 names what is allowed"
    );
    assert_eq!(problem(wrong_method).await.0, 405);
}

#[tokio::test]
async fn path_segments_that_are_not_utf8_or_not_numbers_answer_problems() {
    let service = spawn(routes(), Readiness::new()).await;
    let fine = service
        .client
        .get(service.at("/names/caf%C3%A9"))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.text().await.unwrap(), "café");
    for path in [
        "/names/%FF%FE",
        "/numbers/%FF",
        "/numbers/twelve",
        "/numbers/-1",
    ] {
        let response = service.client.get(service.at(path)).send().await.unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "bad_request", "{path}: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn only_short_safe_request_ids_are_echoed_and_others_are_replaced() {
    let service = spawn(routes(), Readiness::new()).await;
    let echoed = |id: &'static str| {
        let request = service.client.get(service.at("/health/live"));
        async move {
            let response = request.header("x-request-id", id).send().await.unwrap();
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    for kept in [
        "trace-me-123",
        "0190b0e4-7c1d-7000-8000-000000000000",
        "host/span:7==",
    ] {
        assert_eq!(echoed(kept).await, kept);
    }
    let long: &'static str = Box::leak("a".repeat(129).into_boxed_str());
    for replaced in [
        "two words",
        "\"quoted\"",
        "<script>",
        "a;b",
        "line\tbreak",
        long,
    ] {
        let minted = echoed(replaced).await;
        assert_ne!(minted, replaced);
        assert!(
            uuid::Uuid::parse_str(&minted).is_ok(),
            "{replaced:?} → {minted}"
        );
    }
}

#[tokio::test]
async fn json_bodies_are_checked_with_problem_answers() {
    let service = spawn(routes(), Readiness::new()).await;
    let ok = service
        .client
        .post(service.at("/echo"))
        .json(&json!({"name": "a", "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let wrong_type = service
        .client
        .post(service.at("/echo"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(wrong_type).await.0, 415);

    let malformed = service
        .client
        .post(service.at("/echo"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = problem(malformed).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("malformed_json"))
    );

    let bad_field = service
        .client
        .post(service.at("/echo"))
        .json(&json!({"name": "a", "quantity": "2"}))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(bad_field).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "quantity");

    let array = service
        .client
        .post(service.at("/echo"))
        .json(&json!(["a", 2]))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(array).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "body");

    let big = format!(
        "{{\"name\": \"{}\", \"quantity\": 1}}",
        "x".repeat(1024 * 1024 + 1)
    );
    let too_big = service
        .client
        .post(service.at("/echo"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(problem(too_big).await.0, 413);

    // Without a Content-Length the limit still holds while streaming.
    let chunks = futures::stream::iter(
        big.into_bytes()
            .chunks(64 * 1024)
            .map(|chunk| Ok::<_, std::io::Error>(chunk.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = service
        .client
        .post(service.at("/echo"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(chunked).await.0, 413);
}

#[tokio::test]
async fn a_panicking_handler_answers_500_without_internals_and_the_service_keeps_serving() {
    let service = spawn(routes(), Readiness::new()).await;
    let response = service
        .client
        .get(service.at("/boom"))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 500);
    assert!(!body.to_string().contains("secret"), "{body}");
    let live = service
        .client
        .get(service.at("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_given_one_is_kept() {
    let service = spawn(routes(), Readiness::new()).await;
    let minted = service
        .client
        .get(service.at("/health/live"))
        .send()
        .await
        .unwrap();
    assert!(minted.headers().contains_key("x-request-id"));
    let kept = service
        .client
        .get(service.at("/health/live"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn readiness_reports_each_check_and_fails_when_one_is_down() {
    let readiness = Readiness::new()
        .check("database", || async { Ok(()) })
        .check("bus", || async { Err("connection refused".to_owned()) });
    let service = spawn(routes(), readiness).await;
    let response = service
        .client
        .get(service.at("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["bus"]["reason"], "connection refused");

    let healthy = spawn(
        routes(),
        Readiness::new().check("database", || async { Ok(()) }),
    )
    .await;
    let response = healthy
        .client
        .get(healthy.at("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let service = spawn(routes(), Readiness::new()).await;
    for _ in 0..3 {
        service
            .client
            .post(service.at("/echo"))
            .json(&json!({"name": "a", "quantity": 2}))
            .send()
            .await
            .unwrap();
    }
    let text = service
        .client
        .get(service.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|line| {
            line.starts_with("http_requests_total")
                && line.contains("route=\"/echo\"")
                && line.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no counter for /echo in:\n{text}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{line}");
    assert!(text.contains("http_request_duration_seconds_bucket"));
}
