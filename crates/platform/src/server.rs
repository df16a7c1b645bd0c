//! Binding, serving and stopping: the same lifecycle for every service and the gateway.
//!
//! A service is bound first ([`bind`]) so its real address is known before anything is wired to
//! it (tests bind port 0). Serving stops accepting when the shutdown token fires, lets in-flight
//! requests finish, and the caller bounds that drain with [`DRAIN_TIMEOUT`].
//!
//! Every connection is held to two limits ([`ConnectionLimits`]), so a client cannot keep a
//! connection (a file descriptor, a task, its buffers) forever by sending nothing or next to
//! nothing:
//!
//! - **the head of a request must arrive within the header timeout**, counted from the moment
//!   the server waits for it: after accepting, and after each response on a keep-alive
//!   connection. A client trickling a header a byte at a time (slowloris) or keeping an idle
//!   connection is cut off at the deadline;
//! - **a connection on which no byte moved either way for the idle timeout is closed**: a
//!   request whose body stalls halfway, a peer that vanished without a FIN. A response that
//!   streams (Server-Sent Events and their keep-alive comments) keeps its connection alive.
//!
//! A third limit is per request: **a handler must answer within the response timeout**
//! ([`ConnectionLimits::response`], put on each request as [`ResponseDeadline`] and enforced by
//! [`crate::http::with_common_layers`]), or the request gets 503 `response_timeout` and the
//! handler is dropped. A database or a neighbour that accepts connections and never answers
//! would otherwise hold the request, its task and its pooled connection forever. Only the
//! response's head is bounded: a streaming body (SSE) goes on.
//!
//! The clients microshop itself uses between services keep pooled connections for less than the
//! header timeout ([`CLIENT_POOL_IDLE_TIMEOUT`]), so they never send on a connection the server
//! is closing.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::http::{ClientIp, ProxyTrust};
use crate::ops::OpsAccess;

/// How long in-flight requests get to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long microshop's own HTTP clients keep an unused pooled connection: below the servers'
/// header timeout, so a client never reuses a connection the server is about to close.
pub const CLIENT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// The time limits every connection is held to (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's head must be received within this, counted from when the server starts
    /// waiting for it (a new connection, or the previous response sent).
    pub header_read: Duration,
    /// A connection with no byte read or written for this long is closed.
    pub idle: Duration,
    /// A handler that has not produced its response's head by then is dropped and answered
    /// 503 `response_timeout`.
    pub response: Duration,
}

/// The deadline of one request's answer, from [`ConnectionLimits::response`]; without it (a
/// router served some other way, as in unit tests) no deadline applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseDeadline(pub Duration);

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            // Above the gateway's upstream timeout (15 s) and every chain of calls and retries
            // a handler makes, so only a hung dependency reaches it.
            response: Duration::from_secs(30),
        }
    }
}

/// How a server treats its connections: their time limits, whose `X-Forwarded-For` it
/// believes when it resolves each request's [`ClientIp`], and who may read its operators'
/// endpoints ([`crate::ops`]).
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub limits: ConnectionLimits,
    pub trust: Arc<ProxyTrust>,
    pub ops: Arc<OpsAccess>,
}

/// Binds `host:port` (port 0 picks a free one).
pub async fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    TcpListener::bind((host, port)).await.map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot listen on {host}:{port}: {error}"),
        )
    })
}

/// A service being served in the background.
#[derive(Debug)]
pub struct Running {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub task: JoinHandle<io::Result<()>>,
}

/// Serves `app` on `listener` with the default [`ServerOptions`] (default limits, no proxy
/// trusted) until `shutdown` fires, then drains in-flight requests.
pub fn spawn(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> io::Result<Running> {
    spawn_with(name, listener, app, shutdown, ServerOptions::default())
}

/// [`spawn`] with the given options.
pub fn spawn_with(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    options: ServerOptions,
) -> io::Result<Running> {
    let addr = listener.local_addr()?;
    let task = tokio::spawn(serve(listener, app, shutdown, options));
    Ok(Running { name, addr, task })
}

/// The accept loop: one task per connection, each under the limits, all told to finish their
/// current request and close when `shutdown` fires; resolves once every connection is closed.
async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    options: ServerOptions,
) -> io::Result<()> {
    let ServerOptions { limits, trust, ops } = options;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.idle / 2)
        .keep_alive_timeout(limits.header_read);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    // Out of file descriptors, say: accepting again at once would spin.
                    tracing::error!(%error, "cannot accept connections; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (stream, activity) = Watched::new(stream);
        let trust = trust.clone();
        let ops = ops.clone();
        let service = app
            .clone()
            .map_request(move |mut request: http::Request<Incoming>| {
                let client = trust.client_ip(peer.ip(), request.headers());
                let extensions = request.extensions_mut();
                extensions.insert(ConnectInfo(peer));
                extensions.insert(ClientIp(client));
                extensions.insert(ops.clone());
                extensions.insert(ResponseDeadline(limits.response));
                request.map(Body::new)
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(error) = served {
                        tracing::trace!(%peer, %error, "connection ended with an error");
                    }
                }
                () = activity.idle_for(limits.idle) => {
                    tracing::debug!(%peer, "closed a connection idle for {:?}", limits.idle);
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one incoming connection (it was reset before being accepted), not of the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A connection's socket that records when a byte last moved through it.
struct Watched {
    stream: TcpStream,
    activity: Activity,
}

/// When a connection last read or wrote, in milliseconds since it was accepted.
#[derive(Clone)]
struct Activity {
    since: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Watched {
    fn new(stream: TcpStream) -> (Self, Activity) {
        let activity = Activity {
            since: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        };
        let watched = Self {
            stream,
            activity: activity.clone(),
        };
        (watched, activity)
    }
}

impl Activity {
    fn touch(&self) {
        let elapsed = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(elapsed, Ordering::Relaxed);
    }

    /// Resolves once nothing moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Waits for every server to finish draining, at most [`DRAIN_TIMEOUT`]; `false` if cut short.
pub async fn drain(servers: Vec<Running>) -> bool {
    let all = futures::future::join_all(servers.into_iter().map(|server| server.task));
    tokio::time::timeout(DRAIN_TIMEOUT, all).await.is_ok()
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what Docker and Kubernetes send).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler cannot fail on unix");
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
