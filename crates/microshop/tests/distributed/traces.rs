//! Trace continuity: an order placed through the gateway is one trace, from the gateway through
//! orders, products and payments, across Kafka, to the notifier, as exported over OTLP/HTTP to a
//! small collector running inside the test (`tests/support/otlp.rs`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::SERIAL;
use crate::cluster::{Cluster, Options};
use crate::otlp::Collector;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_an_order_from_the_gateway_to_the_notifier() {
    let _serial = SERIAL.lock().await;
    let collector = Collector::start().await;
    let options = Options {
        envs: vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            // Export within a fraction of a second instead of the default five.
            ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ],
        ..Options::default()
    };
    let Some(cluster) = Cluster::start("traces", options).await else {
        return;
    };
    let token = cluster.sign_in("tracy").await;
    let product = cluster.product(10).await;

    // The client starts the trace; every span of the order must join it.
    let trace_id = Uuid::new_v4().simple().to_string();
    let client_span = Uuid::new_v4().simple().to_string()[..16].to_owned();
    let response = cluster
        .client
        .post(format!("{}/orders", cluster.gateway()))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .header("idempotency-key", Uuid::now_v7().to_string())
        .json(&json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": "1 rue du Test, Paris"}))
        .send()
        .await
        .expect("the order answers");
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: serde_json::Value = response.json().await.expect("an order");
    let order_id = order["id"].as_str().expect("an order id").to_owned();
    cluster
        .await_notifications(
            &token,
            std::slice::from_ref(&order_id),
            &["order.created", "order.paid"],
            Duration::from_secs(30),
        )
        .await;

    crate::otlp::assert_order_trace(&collector, &trace_id, &client_span, &order_id).await;
}
