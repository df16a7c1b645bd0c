//! OAuth 2.0 through the gateway: a standard client reads the metadata, gets tokens from the
//! form-encoded token endpoint, and its access token (with `aud` and `client_id`) is accepted
//! by the gateway and by the services behind it.

use serde_json::Value;

use crate::stack::TestStack;

const PASSWORD: &str = "correct-horse-battery-staple";

async fn post_form(stack: &TestStack, url: &str, body: &str) -> reqwest::Response {
    stack
        .client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_oauth_client_discovers_the_token_endpoint_and_its_tokens_work_everywhere() {
    let stack = TestStack::start().await;
    stack.register("olivia", PASSWORD).await;

    let metadata = stack
        .client
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            stack.gateway
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    let metadata: Value = metadata.json().await.unwrap();
    assert_eq!(metadata["issuer"], "microshop-auth");
    let token_endpoint = metadata["token_endpoint"].as_str().unwrap();
    assert!(token_endpoint.ends_with("/auth/token"), "{metadata}");
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!(["password", "refresh_token"])
    );

    let response = post_form(
        &stack,
        &format!("{}/auth/token", stack.gateway),
        &format!("grant_type=password&username=olivia&password={PASSWORD}&client_id=e2e-cli"),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "microshop");
    assert_eq!(claims["client_id"], "e2e-cli");

    // The gateway and the services behind it accept the token.
    for path in ["/auth/me", "/orders", "/notifications"] {
        let response = stack
            .client
            .get(format!("{}{path}", stack.gateway))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }

    let refreshed = post_form(
        &stack,
        token_endpoint,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            tokens["refresh_token"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(refreshed.status(), 200);

    let wrong = post_form(
        &stack,
        &format!("{}/auth/token", stack.gateway),
        "grant_type=password&username=olivia&password=nope-nope-nope",
    )
    .await;
    assert_eq!(wrong.status(), 400);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

use base64::Engine as _;
