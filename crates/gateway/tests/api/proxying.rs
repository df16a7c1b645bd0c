//! What a request looks like on the far side of the gateway, and what comes back.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{BIG_BODY_BYTES, Echo, FakeUpstream, GatewaySetup, big_body_byte};

#[tokio::test]
async fn requests_reach_the_service_with_method_path_query_and_headers_intact() {
    let upstream = FakeUpstream::start("orders-1").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;
    let token = app.keys.access_token();

    let response = app
        .client
        .request(
            Method::PATCH,
            app.url("/orders/42/lines?sort=desc&page=2&q=a%20b"),
        )
        .bearer_auth(&token)
        .header("x-custom", "one")
        .header("x-custom", "two")
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(r#"{"status":"shipped"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echo = Echo(response.json().await.unwrap());

    assert_eq!(echo.0["method"], "PATCH");
    assert_eq!(echo.0["path"], "/orders/42/lines");
    assert_eq!(echo.0["query"], "sort=desc&page=2&q=a%20b");
    assert_eq!(echo.header("x-custom").unwrap(), "one, two");
    assert_eq!(echo.header("accept").unwrap(), "application/json");
    assert_eq!(echo.header("content-type").unwrap(), "application/json");
    assert_eq!(
        echo.header("authorization").unwrap(),
        format!("Bearer {token}")
    );
    assert_eq!(echo.0["body"], r#"{"status":"shipped"}"#);
    assert_eq!(echo.0["body_len"], 20);
}

#[tokio::test]
async fn a_5_mib_response_streams_through_byte_for_byte() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let response = app.get("/products/big").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();

    assert_eq!(body.len(), BIG_BODY_BYTES);
    let expected: Vec<u8> = (0..BIG_BODY_BYTES).map(big_body_byte).collect();
    assert!(
        body[..] == expected[..],
        "the body differs from what the service sent"
    );
}

#[tokio::test]
async fn response_bodies_are_streamed_not_buffered() {
    let upstream = FakeUpstream::start("notifier").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    // The service sends its second chunk only after the client has seen the first: a gateway
    // that buffered the response would never deliver either.
    let mut response = app.get("/products/gated").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .expect("the first chunk arrives before the body ends")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"first;");
    upstream.open_gate();
    let rest = response.bytes().await.unwrap();
    assert_eq!(&rest[..], b"second");
}

#[tokio::test]
async fn request_bodies_are_streamed_not_buffered() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let (chunks, receiver) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    let request = app
        .authed(Method::POST, "/products/upload-gated")
        .body(reqwest::Body::wrap_stream(receiver));
    let sending = tokio::spawn(request.send());

    chunks
        .unbounded_send(Ok(Bytes::from(vec![1u8; 16 * 1024])))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), upstream.first_chunk_seen())
        .await
        .expect("the service sees the first chunk while the client is still sending");
    chunks
        .unbounded_send(Ok(Bytes::from(vec![2u8; 1024])))
        .unwrap();
    drop(chunks);

    let response = sending.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["received"], 17 * 1024);
}

#[tokio::test]
async fn hop_by_hop_headers_are_stripped_both_ways() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    // A raw request, so the client library cannot tidy the headers up first.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = "GET /products/anything HTTP/1.1\r\n\
        Host: shop.test\r\n\
        Connection: close, X-Client-Private\r\n\
        X-Client-Private: secret\r\n\
        Keep-Alive: timeout=5\r\n\
        TE: trailers\r\n\
        Trailer: X-Checksum\r\n\
        Upgrade: websocket\r\n\
        Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\
        Proxy-Connection: keep-alive\r\n\
        X-Kept: yes\r\n\
        \r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json_start = body.find('{').unwrap();
    let json_end = body.rfind('}').unwrap();
    let echo = Echo(serde_json::from_str(&body[json_start..=json_end]).unwrap());
    for stripped in [
        "connection",
        "x-client-private",
        "keep-alive",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "upgrade",
    ] {
        assert!(!echo.has_header(stripped), "{stripped} reached the service");
    }
    assert_eq!(echo.header("x-kept").unwrap(), "yes");
    assert_eq!(echo.header("host").unwrap(), "shop.test");

    let response = app.get("/products/hop").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert!(!headers.contains_key("x-upstream-private"));
    assert!(!headers.contains_key("keep-alive"));
    assert_eq!(headers["x-upstream-public"], "yes");
    // Identity headers a service sends back (ForwardAuth answers) are the service's to send.
    assert_eq!(headers["x-user-id"], "set-by-service");
}

#[tokio::test]
async fn forwarding_headers_and_the_request_id_are_set() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let response = app
        .get("/products?page=1")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let echo = Echo(response.json().await.unwrap());
    assert_eq!(
        echo.header("x-forwarded-for").unwrap(),
        "203.0.113.9, 127.0.0.1"
    );
    assert_eq!(echo.header("x-forwarded-proto").unwrap(), "http");
    assert_eq!(
        echo.header("x-forwarded-host").unwrap(),
        app.addr.to_string()
    );
    assert!(!request_id.is_empty());
    assert_eq!(echo.header("x-request-id").unwrap(), request_id);

    let echo = app
        .echo(app.get("/products").header("x-request-id", "trace-me-123"))
        .await;
    assert_eq!(echo.header("x-request-id").unwrap(), "trace-me-123");
    assert_eq!(echo.header("x-forwarded-for").unwrap(), "127.0.0.1");
}

#[tokio::test]
async fn seed_aliases_are_rewritten_to_auth() {
    let auth = FakeUpstream::start("auth").await;
    let app = GatewaySetup::new()
        .service("auth", &[auth.url()])
        .start()
        .await;

    let echo = app.echo(app.post("/signup?lang=fr").body("{}")).await;
    assert_eq!(echo.0["instance"], "auth");
    assert_eq!(echo.0["path"], "/auth/signup");
    assert_eq!(echo.0["query"], "lang=fr");

    let echo = app.echo(app.post("/login").body("{}")).await;
    assert_eq!(echo.0["path"], "/auth/login");
    assert_eq!(echo.0["method"], "POST");

    let echo = app.echo(app.authed(Method::GET, "/me")).await;
    assert_eq!(echo.0["path"], "/auth/me");

    let echo = app.echo(app.get("/.well-known/jwks.json")).await;
    assert_eq!(echo.0["path"], "/.well-known/jwks.json");

    // The OAuth metadata and token endpoint pass without a token, the form body intact.
    let echo = app
        .echo(app.get("/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(echo.0["instance"], "auth");
    assert_eq!(echo.0["path"], "/.well-known/oauth-authorization-server");
    let echo = app
        .echo(
            app.post("/auth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password&username=a&password=b"),
        )
        .await;
    assert_eq!(echo.0["path"], "/auth/token");
    assert_eq!(echo.0["body"], "grant_type=password&username=a&password=b");
    assert_eq!(echo.0["method"], "POST");

    // The aliases are exactly the seeds' methods.
    let response = app.get("/login").send().await.unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn many_concurrent_requests_all_arrive() {
    let upstream = FakeUpstream::start("hits").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let statuses: Vec<_> = futures::stream::iter(0..200)
        .map(|index| {
            let request = app.get(&format!("/hits?n={index}"));
            async move {
                request
                    .send()
                    .await
                    .map(|response| response.status().as_u16())
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert!(statuses.iter().all(|status| matches!(status, Ok(200))));
    assert_eq!(upstream.requests(), 200);
}
