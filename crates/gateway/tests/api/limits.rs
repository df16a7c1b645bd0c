//! The 1 MiB request-body limit, whether or not the client declares a length.

use bytes::Bytes;
use platform::json::MAX_BODY_BYTES;
use reqwest::Method;

use crate::support::{FakeUpstream, GatewaySetup, assert_problem};

fn chunked(total: usize) -> reqwest::Body {
    let chunk = 64 * 1024;
    let chunks = (0..total).step_by(chunk).map(move |start| {
        Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; chunk.min(total - start)]))
    });
    reqwest::Body::wrap_stream(futures::stream::iter(chunks.collect::<Vec<_>>()))
}

#[tokio::test]
async fn a_declared_body_over_1_mib_is_refused_before_reaching_the_service() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let response = app
        .authed(Method::POST, "/products")
        .body(vec![b'x'; MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();

    assert_problem(response, 413, "payload_too_large").await;
    assert_eq!(upstream.requests(), 0);
}

#[tokio::test]
async fn a_chunked_body_over_1_mib_is_cut_off_with_413() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let response = app
        .authed(Method::POST, "/products")
        .body(chunked(MAX_BODY_BYTES + 64 * 1024))
        .send()
        .await
        .unwrap();

    assert_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_much_larger_chunked_body_still_gets_its_413() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let response = app
        .authed(Method::POST, "/products")
        .body(chunked(6 * MAX_BODY_BYTES))
        .send()
        .await
        .unwrap();

    assert_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_body_of_exactly_1_mib_passes_declared_or_chunked() {
    let upstream = FakeUpstream::start("products").await;
    let app = GatewaySetup::all_services(&[upstream.url()]).start().await;

    let echo = app
        .echo(
            app.authed(Method::POST, "/products")
                .body(vec![b'x'; MAX_BODY_BYTES]),
        )
        .await;
    assert_eq!(echo.0["body_len"], MAX_BODY_BYTES);

    let echo = app
        .echo(
            app.authed(Method::POST, "/products")
                .body(chunked(MAX_BODY_BYTES)),
        )
        .await;
    assert_eq!(echo.0["body_len"], MAX_BODY_BYTES);
    assert_eq!(echo.header("transfer-encoding"), Some("chunked".to_owned()));
}
