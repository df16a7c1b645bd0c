//! The connection limits of every server (`platform::server`): a client that sends its request
//! head too slowly, keeps a connection idle, or stalls a body halfway is cut off, while a
//! response that keeps streaming keeps its connection.

use std::time::{Duration, Instant};

use axum::Router;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use platform::http::{Readiness, service_app};
use platform::server::{ConnectionLimits, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const LIMITS: ConnectionLimits = ConnectionLimits {
    header_read: Duration::from_millis(800),
    idle: Duration::from_millis(1500),
    // Above the idle timeout, so that a stalled body meets the idle timeout first.
    response: Duration::from_millis(2500),
};

/// Set when the `/hang` handler's future is dropped.
static HANG_DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct SetOnDrop;

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        HANG_DROPPED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

struct Server {
    addr: std::net::SocketAddr,
    _shutdown: tokio_util::sync::DropGuard,
}

async fn server() -> Server {
    server_with(LIMITS).await
}

async fn server_with(limits: ConnectionLimits) -> Server {
    let routes = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/echo", post(|body: String| async move { body }))
        // A handler waiting on a dependency that accepted and never answers.
        .route(
            "/hang",
            get(|| async {
                let _dropped = SetOnDrop;
                futures::future::pending::<&'static str>().await
            }),
        )
        .route(
            "/stream",
            get(|| async {
                let events = futures::stream::pending::<Result<Event, std::convert::Infallible>>();
                Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_millis(300)))
            }),
        );
    let app = service_app("connections-test", routes, Readiness::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let options = ServerOptions {
        limits,
        ..ServerOptions::default()
    };
    platform::server::spawn_with("test", listener, app, shutdown.clone(), options).unwrap();
    Server {
        addr,
        _shutdown: shutdown.drop_guard(),
    }
}

/// Reads until the server closes the connection (or 10 s pass); what arrived and when it closed.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the server closes the connection within 10 s");
        match read {
            Ok(0) | Err(_) => break,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_request_head_sent_too_slowly_gets_the_connection_closed() {
    let server = server().await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut reading, mut writing) = stream.into_split();
    writing.write_all(b"GET /hello HTTP/1.1\r\n").await.unwrap();
    // A byte now and then (slowloris) does not extend the deadline.
    let trickle = tokio::spawn(async move {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writing.write_all(b"X").await.is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), reading.read(&mut buffer))
            .await
            .expect("the server closes the connection");
        if matches!(read, Ok(0) | Err(_)) {
            break;
        }
    }
    let closed_after = started.elapsed();
    trickle.abort();
    assert!(
        closed_after < Duration::from_millis(1400),
        "a trickling client kept its connection {closed_after:?}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let (received, after) = read_until_closed(&mut stream).await;
    assert!(received.is_empty(), "{received}");
    assert!(
        after >= Duration::from_millis(700) && after < Duration::from_secs(3),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_response() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let (received, after) = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(received.ends_with("hello"), "{received}");
    assert!(after < Duration::from_secs(3), "kept open {after:?}");
}

#[tokio::test]
async fn a_body_that_stalls_halfway_gets_the_connection_closed() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\nhalf")
        .await
        .unwrap();
    let (received, after) = read_until_closed(&mut stream).await;
    assert!(!received.contains("200 OK"), "{received}");
    assert!(
        after >= Duration::from_millis(1400) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn a_handler_that_never_answers_is_dropped_and_answered_503_at_the_response_timeout() {
    // As by default, the response timeout comes before the idle timeout would close the
    // connection of a request whose handler is still working.
    let limits = ConnectionLimits {
        response: Duration::from_millis(1000),
        ..LIMITS
    };
    let server = server_with(limits).await;
    let client = platform::client::http_client();
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        client.get(format!("http://{}/hang", server.addr)).send(),
    )
    .await
    .expect("answered, not left hanging")
    .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= limits.response && waited < limits.response * 3,
        "answered after {waited:?}"
    );
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["type"].as_str().unwrap().ends_with("response_timeout"),
        "{body}"
    );
    assert!(
        HANG_DROPPED.load(std::sync::atomic::Ordering::SeqCst),
        "the handler was dropped, not left running"
    );
    // The server goes on serving.
    let answer = client
        .get(format!("http://{}/hello", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "hello");
}

/// Also past the response timeout: only a response's head is bounded.
#[tokio::test]
async fn a_streaming_response_keeps_its_connection_past_the_idle_timeout() {
    let server = server().await;
    let client = platform::client::http_client();
    let mut response = client
        .get(format!("http://{}/stream", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    while started.elapsed() < LIMITS.idle * 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(2), response.chunk())
            .await
            .expect("a keep-alive comment every 300 ms")
            .expect("the stream is still open");
        assert!(chunk.is_some(), "the stream ended");
    }
}

#[tokio::test]
async fn requests_on_a_busy_keep_alive_connection_are_all_answered() {
    let server = server().await;
    let client = platform::client::http_client();
    for _ in 0..5 {
        let answer = client
            .get(format!("http://{}/hello", server.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.text().await.unwrap(), "hello");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
