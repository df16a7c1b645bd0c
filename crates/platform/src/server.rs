//! Binding, serving and stopping: the same lifecycle for every service and the gateway.
//!
//! A service is bound first ([`bind`]) so its real address is known before anything is wired to
//! it (tests bind port 0). Serving stops accepting when the shutdown token fires, lets in-flight
//! requests finish, and the caller bounds that drain with [`DRAIN_TIMEOUT`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long in-flight requests get to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Serves `app` on `listener` until `shutdown` fires, then drains in-flight requests.
pub fn spawn(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> io::Result<Running> {
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    });
    Ok(Running { name, addr, task })
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
