//! Traces of the embedded stack: one process runs every service, yet each span is exported as
//! the service whose work it is (its resource's `service.name`), so an order placed through the
//! gateway is one trace across gateway, orders, products, payments and the notifier, exactly as
//! in distributed mode (`tests/distributed/traces.rs` checks the same trace there), and nothing
//! is exported as the process, `microshop`.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::binary::start_up_with;
use crate::otlp::{CollectedSpan, Collector};

/// A W3C trace context of the client's own: (trace id, span id, `traceparent`).
fn client_trace() -> (String, String, String) {
    let trace_id = Uuid::new_v4().simple().to_string();
    let span_id = Uuid::new_v4().simple().to_string()[..16].to_owned();
    let traceparent = format!("00-{trace_id}-{span_id}-01");
    (trace_id, span_id, traceparent)
}

fn services(trace: &[CollectedSpan]) -> BTreeSet<&str> {
    trace.iter().map(|span| span.service.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_span_of_the_embedded_stack_is_exported_as_its_own_service() {
    let collector = Collector::start().await;
    let running = start_up_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        // Export within a fraction of a second instead of the default five.
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("MICROSHOP_PAYMENTS_DECLINE_RATE", "0".to_owned()),
    ]);
    let client = platform::client::http_client();
    let gateway = &running.gateway;
    let password = std::fs::read_to_string(running.data.path().join("admin-password")).unwrap();

    // The sign-in, traced by the client: the gateway's span and auth's.
    let (login_trace, _, traceparent) = client_trace();
    let login = client
        .post(format!("{gateway}/auth/login"))
        .header("traceparent", traceparent)
        .json(&json!({"username": "admin", "password": password.trim()}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = client
        .post(format!("{gateway}/products"))
        .bearer_auth(&token)
        .json(&json!({"name": "Traced lamp", "price_cents": 1250, "stock": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201);
    let product: Value = product.json().await.unwrap();

    // The order, traced by the client: every service it reaches joins the client's trace.
    let (trace_id, client_span, traceparent) = client_trace();
    let order = client
        .post(format!("{gateway}/orders"))
        .bearer_auth(&token)
        .header("traceparent", traceparent)
        .header("idempotency-key", Uuid::now_v7().to_string())
        .json(&json!({
            "items": [{"product_id": product["id"], "quantity": 1}],
            "shipping_address": "1 rue du Test, Paris"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 201);
    let order: Value = order.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap();

    let trace =
        crate::otlp::assert_order_trace(&collector, &trace_id, &client_span, order_id).await;
    let expected = BTreeSet::from(["gateway", "notifier", "orders", "payments", "products"]);
    assert!(
        services(&trace).is_superset(&expected) && !services(&trace).contains("microshop"),
        "services of the order's trace: {:?}",
        services(&trace)
    );
    // A span naming the service it hands over to (the gateway's server span, a client span of
    // orders) parents only spans of that service: the caller's and the callee's spans come from
    // one process under two names.
    for call in trace
        .iter()
        .filter(|span| span.attributes.contains_key("peer.service"))
    {
        let callee = &call.attributes["peer.service"];
        let served: Vec<&CollectedSpan> = trace
            .iter()
            .filter(|span| span.parent_span_id == call.span_id)
            .collect();
        assert!(
            served.iter().all(|span| span.service == *callee),
            "{} ({}) calls {callee}, served by {:?}",
            call.name,
            call.service,
            served
                .iter()
                .map(|span| span.service.as_str())
                .collect::<Vec<_>>()
        );
    }

    let login = collector.trace(&login_trace);
    let login_services = services(&login);
    assert!(
        login_services == BTreeSet::from(["auth", "gateway"]),
        "services of the sign-in's trace: {login_services:?}"
    );
}
