//! A problem's `type` resolves: real errors, provoked through the gateway and on a service's own
//! port, point (`/problems/{code}`, relative to the origin that answered) to an HTML page about
//! their code, public at the gateway; an unknown code is a 404 problem.

use microshop::settings::Service;
use platform::problem::catalogue::CATALOGUE;
use serde_json::{Value, json};

use crate::stack::TestStack;

async fn get(stack: &TestStack, url: String) -> reqwest::Response {
    stack.client.get(url).send().await.unwrap()
}

/// Sends `request` to `origin`, expects the problem `status` `code`, follows its `type` there,
/// and checks it is the page of that code.
async fn follow_type(
    stack: &TestStack,
    origin: &str,
    request: reqwest::RequestBuilder,
    status: u16,
    code: &str,
) {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), status, "{origin}");
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
    let page = get(stack, url.to_string()).await;
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
    let response = get(stack, format!("{origin}/problems/no_such_code")).await;
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
    let client = &stack.client;
    let request = client.get(format!("{gateway}/orders"));
    follow_type(&stack, gateway, request, 401, "missing_token").await;

    // Services' answers, forwarded: an unknown product, an invalid registration.
    let request = client.get(format!("{gateway}/products/999999"));
    follow_type(&stack, gateway, request, 404, "not_found").await;
    let request = client
        .post(format!("{gateway}/auth/register"))
        .json(&json!({"username": "problem-reader", "password": "short"}));
    follow_type(&stack, gateway, request, 422, "validation_failed").await;

    // A service called directly on its own port serves the pages too.
    let products = format!("http://{}", stack.addr(Service::Products));
    let request = client
        .post(format!("{products}/products"))
        .json(&json!({"name": "anything"}));
    follow_type(&stack, &products, request, 401, "missing_token").await;

    // The index lists every code, at the gateway without a token as well as on a service.
    for origin in [gateway, products.as_str()] {
        let index = get(&stack, format!("{origin}/problems")).await;
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
