//! A TCP proxy in front of a real server (Redis, a Kafka broker...) that a test can take down and
//! bring back, so "the server goes away and returns" needs no control over the real server.
//!
//! Up, it forwards every connection to the target. [`TcpProxy::go_down`] closes its port (new
//! connections are refused) and cuts the open ones, as a stopped server would;
//! [`TcpProxy::come_back`] listens on the same port again. [`TcpProxy::cut_connections`] only
//! cuts the open connections, as a restarted server or an idle-connection reaper would.
//! [`TcpProxy::blackhole`] is the nastier failure: the port still accepts connections and the
//! open ones stay open, but no byte ever comes back (a hung server, a firewall dropping
//! packets, a dead host behind a still-open load balancer), until [`TcpProxy::lift_blackhole`]
//! closes what it held and forwards again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug)]
pub struct TcpProxy {
    /// The proxy's address (the port stays the same across restarts).
    addr: SocketAddr,
    /// Where the server really is (`host:port`).
    target: String,
    /// How clients reach the server through the proxy: `host:port`, or for
    /// [`TcpProxy::for_redis`] the Redis URL with its host and port replaced by the proxy's.
    url: String,
    /// Cuts the connections open now; replaced by a fresh token after each cut.
    connections: Arc<Mutex<CancellationToken>>,
    /// While up: what stops the accept loop, and every task of the proxy.
    up: Mutex<Option<(CancellationToken, TaskTracker)>>,
    /// While blackholed: the token that lifts it.
    hole: tokio::sync::watch::Sender<Option<CancellationToken>>,
}

impl TcpProxy {
    /// A proxy to `target` (`host:port`), up.
    pub async fn start(target: &str) -> Self {
        Self::listen(target.to_owned(), |addr| addr.to_string()).await
    }

    /// A proxy to the Redis of `redis_url`, up; [`TcpProxy::url`] is the URL through it.
    pub async fn for_redis(redis_url: &str) -> Self {
        let (scheme, rest) = redis_url.split_once("://").expect("a redis:// URL");
        let (credentials, rest) = match rest.rsplit_once('@') {
            Some((credentials, rest)) => (format!("{credentials}@"), rest),
            None => (String::new(), rest),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, format!("/{path}")),
            None => (rest, String::new()),
        };
        let target = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:6379")
        };
        Self::listen(target, |addr| {
            format!("{scheme}://{credentials}{addr}{path}")
        })
        .await
    }

    async fn listen(target: String, url: impl FnOnce(SocketAddr) -> String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = Self {
            addr,
            url: url(addr),
            target,
            connections: Arc::new(Mutex::new(CancellationToken::new())),
            up: Mutex::new(None),
            hole: tokio::sync::watch::Sender::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    /// How clients reach the server through the proxy.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The proxy's own address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Refuses new connections and cuts the open ones; returns once the port is closed.
    pub async fn go_down(&self) {
        let up = self.up.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((stop, tasks)) = up {
            stop.cancel();
            self.cut();
            tasks.close();
            // Every task ends on the two tokens; the bound only keeps a stuck peer from
            // hanging the test.
            let _ = tokio::time::timeout(Duration::from_secs(5), tasks.wait()).await;
        }
    }

    /// Listens again on the same port.
    pub async fn come_back(&self) {
        for _ in 0..50 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the proxy could not listen on {} again", self.addr);
    }

    /// Cuts the open connections but keeps accepting new ones.
    pub async fn cut_connections(&self) {
        self.cut();
        // Let the cut reach both ends before the test goes on.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// Holds every connection, open and new, without ever answering: nothing is refused and
    /// nothing comes back.
    pub async fn blackhole(&self) {
        self.hole.send_replace(Some(CancellationToken::new()));
        // Let the open connections stop forwarding before the test goes on.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// Closes the connections the blackhole held and forwards new ones again.
    pub async fn lift_blackhole(&self) {
        if let Some(lift) = self.hole.send_replace(None) {
            lift.cancel();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    fn cut(&self) {
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        connections.cancel();
        *connections = CancellationToken::new();
    }

    fn serve(&self, listener: TcpListener) {
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        tasks.spawn(accept(
            listener,
            stop.clone(),
            tasks.clone(),
            self.target.clone(),
            self.connections.clone(),
            self.hole.clone(),
        ));
        *self.up.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, tasks));
    }
}

async fn accept(
    listener: TcpListener,
    stop: CancellationToken,
    tasks: TaskTracker,
    target: String,
    connections: Arc<Mutex<CancellationToken>>,
    hole: tokio::sync::watch::Sender<Option<CancellationToken>>,
) {
    loop {
        let client = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
        };
        let cut = connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        tasks.spawn(forward(client, target.clone(), cut, hole.subscribe()));
    }
}

async fn forward(
    mut client: TcpStream,
    target: String,
    cut: CancellationToken,
    mut hole: tokio::sync::watch::Receiver<Option<CancellationToken>>,
) {
    let held = hole.borrow_and_update().clone();
    if let Some(lift) = held {
        return hold(client, lift, cut).await;
    }
    let Ok(mut server) = TcpStream::connect(&target).await else {
        return;
    };
    let blackholed = async {
        hole.wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|lift| lift.clone())
    };
    let lift = tokio::select! {
        () = cut.cancelled() => None,
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => None,
        lift = blackholed => lift,
    };
    if let Some(lift) = lift {
        drop(server);
        hold(client, lift, cut).await;
    }
}

/// Keeps `client` open, reading nothing and sending nothing, until the blackhole is lifted (or
/// the connection is cut); then closes it.
async fn hold(client: TcpStream, lift: CancellationToken, cut: CancellationToken) {
    tokio::select! {
        () = lift.cancelled() => {}
        () = cut.cancelled() => {}
    }
    drop(client);
}
