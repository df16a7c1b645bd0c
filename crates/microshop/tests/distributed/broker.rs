//! A Kafka-compatible broker of the test's own (tansu, in memory), reachable only through a TCP
//! proxy the test controls: cutting the proxy makes the broker unreachable for every client
//! (connections cut, new ones refused), restoring it brings the same broker back with its
//! topics, messages and committed offsets, like a broker restart or a network partition that
//! heals. The broker advertises the proxy's address, so clients never bypass it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use test_support::proxy::TcpProxy;
use tokio::net::TcpStream;

use crate::cluster::{KAFKA_ENV, free_port};

pub struct Broker {
    child: Child,
    proxy: TcpProxy,
}

impl Drop for Broker {
    fn drop(&mut self) {
        // A paused process ignores nothing but SIGKILL; resume it anyway so it exits cleanly.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tansu binary: `$MICROSHOP_TEST_TANSU`, else `tansu` from `~/.cargo/bin` or the PATH.
fn tansu() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MICROSHOP_TEST_TANSU") {
        return Some(PathBuf::from(path));
    }
    let cargo_bin = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cargo/bin/tansu"))
        .filter(|path| path.exists());
    cargo_bin.or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("tansu"))
                .find(|path| path.exists())
        })
    })
}

impl Broker {
    /// Starts the broker behind its proxy, or `None` (reason printed) outside the Kafka test
    /// environment. With the environment set, a missing tansu fails the test.
    pub async fn start(test: &str) -> Option<Self> {
        if std::env::var(KAFKA_ENV).map_or(true, |value| value.is_empty()) {
            eprintln!("skipped {test}: set {KAFKA_ENV} (and install tansu) to run it");
            return None;
        }
        let binary =
            tansu().expect("tansu is installed (cargo install tansu --features dynostore)");
        let broker_port = free_port();
        let proxy = TcpProxy::start(&format!("127.0.0.1:{broker_port}")).await;
        let child = Command::new(binary)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://127.0.0.1:{broker_port}"),
                "--advertised-listener-url",
                &format!("tcp://{}", proxy.addr()),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", broker_port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "tansu never listened");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Self { child, proxy })
    }

    /// Where clients reach the broker (the proxy).
    pub fn address(&self) -> String {
        self.proxy.addr().to_string()
    }

    /// Makes the broker unreachable: live connections are cut, new ones refused.
    pub async fn cut(&self) {
        self.proxy.go_down().await;
    }

    /// Makes the broker reachable again on the same address.
    pub async fn restore(&self) {
        self.proxy.come_back().await;
    }

    /// Hangs the broker (SIGSTOP): connections stay open and requests are accepted by the
    /// kernel, but nothing is answered, the way a broker stuck in a long GC pause, a frozen VM
    /// or a wedged disk looks to its clients.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused broker go on (SIGCONT) from where it stopped.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} the broker");
    }
}
