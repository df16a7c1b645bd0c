//! A problem's `type` resolves: real errors, provoked through the gateway and on a service's own
//! port, point (`/problems/{code}`, relative to the origin that answered) to an HTML page about
//! their code, public at the gateway; an unknown code is a 404 problem.

use microshop::settings::Service;
use platform::problem::catalogue::CATALOGUE;
use serde_json::{Value, json};

use crate::stack::TestStack;

/// Follows the `type` of a problem answer from `origin` and checks it is the page of its code.
async fn follow_type(stack: &TestStack, origin: &str, response: reqwest::Response, code: &str) {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{origin}"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], code, "{problem}");
    let kind = problem["type"].as_str().unwrap();
    assert_eq!(kind, format!("/problems/{code}"));
    let url = reqwest::Url::parse(origin).unwrap().join(kind).unwrap();
    let page = stack.client.get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200, "{url}");
    assert_eq!(
        page.headers()["content-type"],
        "text/html; charset=utf-8",
        "{url}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("<code>{code}</code>")),
        "{url}: {html}"
    );
    assert!(html.contains("href=\"/problems\""), "{url}: {html}");
}

async fn assert_unknown_code_is_a_problem(stack: &TestStack, origin: &str) {
    let response = stack
        .client
        .get(format!("{origin}/problems/no_such_code"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "{origin}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "not_found", "{problem}");
}

#[tokio::test]
async fn problem_types_resolve_to_their_pages_at_the_gateway_and_at_the_service_that_answered() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway.as_str();

    // The gateway's own answer: no token.
    let response = stack
        .client
        .get(format!("{gateway}/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    follow_type(&stack, gateway, response, "missing_token").await;

    // Services' answers, forwarded: an unknown product, an invalid registration.
    let response = stack
        .client
        .get(format!("{gateway}/products/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    follow_type(&stack, gateway, response, "not_found").await;
    let response = stack
        .client
        .post(format!("{gateway}/auth/register"))
        .json(&json!({"username": "problem-reader", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    follow_type(&stack, gateway, response, "validation_failed").await;

    // A service called directly on its own port serves the pages too.
    let products = format!("http://{}", stack.addr(Service::Products));
    let response = stack
        .client
        .post(format!("{products}/products"))
        .json(&json!({"name": "anything"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    follow_type(&stack, &products, response, "missing_token").await;

    // The index lists every code, at the gateway without a token as well as on a service.
    for origin in [gateway, products.as_str()] {
        let index = stack
            .client
            .get(format!("{origin}/problems"))
            .send()
            .await
            .unwrap();
        assert_eq!(index.status(), 200, "{origin}");
        let html = index.text().await.unwrap();
        for entry in CATALOGUE {
            assert!(
                html.contains(&format!("href=\"/problems/{}\"", entry.code)),
                "{origin}: {} is not listed",
                entry.code
            );
        }
        assert_unknown_code_is_a_problem(&stack, origin).await;
    }
}
