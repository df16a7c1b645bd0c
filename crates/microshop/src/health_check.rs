//! `microshop health-check`: one `GET /health/ready`, exit 0 on a 2xx answer, 1 otherwise.
//!
//! A container's health check runs inside the image, which has neither curl nor wget: the binary
//! asks itself. One image runs any service, chosen by its command (`serve orders`), so the
//! image's `HEALTHCHECK` cannot name a port; without a service or URL given, the check finds the
//! `microshop` process running beside it (in a container, the only one), reads its command line
//! with the same settings parser, and so asks the port that process really listens on, flags
//! and settings file included. The environment is this process's own: a container's health
//! check runs with the container's, the one the service read.
//!
//! The request is plain HTTP/1.1 over a TCP connection, written here: a health check needs a
//! status line and nothing else, and a full client would honour `HTTP_PROXY` from the
//! environment, which must never apply to a loopback probe.

use std::ffi::OsString;
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::settings::{self, HealthCheck, Invocation, Service, Settings};

/// How long the whole check may take: connecting, asking, reading the answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The most of an answer read: the status line and headers, and a readiness body.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The longest part of a failed answer's body repeated in the message.
const MAX_REASON_CHARS: usize = 300;

/// What a health check does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Ask this URL.
    Ask(String),
    /// The process beside this one is not a server (an admin command such as `auth
    /// rotate-key`): nothing to ask, and nothing wrong.
    NothingToAsk(String),
}

/// The outcome, as the one line printed and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub healthy: bool,
    pub line: String,
}

/// Runs the check `args` describe.
pub async fn run(args: &HealthCheck) -> Verdict {
    let url = match target(args, running_microshop_commands()) {
        Target::Ask(url) => url,
        Target::NothingToAsk(why) => {
            return Verdict {
                healthy: true,
                line: format!("nothing to check: {why}"),
            };
        }
    };
    match tokio::time::timeout(TIMEOUT, ask(&url)).await {
        Ok(Ok(answer)) if answer.status.is_success() => Verdict {
            healthy: true,
            line: format!("ready: {url} answered {}", answer.status),
        },
        Ok(Ok(answer)) => Verdict {
            healthy: false,
            line: format!(
                "not ready: {url} answered {}{}",
                answer.status,
                answer
                    .reason
                    .map(|reason| format!(": {reason}"))
                    .unwrap_or_default()
            ),
        },
        Ok(Err(error)) => Verdict {
            healthy: false,
            line: format!("not ready: {url}: {error}"),
        },
        Err(_) => Verdict {
            healthy: false,
            line: format!("not ready: {url}: no answer within {} s", TIMEOUT.as_secs()),
        },
    }
}

/// What to ask, from the arguments, else from the first of `running` (command lines of other
/// `microshop` processes) that serves something.
pub fn target(args: &HealthCheck, running: impl IntoIterator<Item = Vec<OsString>>) -> Target {
    if let Some(url) = &args.url {
        return Target::Ask(url.clone());
    }
    let settings = &args.settings;
    if let Some(port) = args.port {
        return Target::Ask(ready_url(&settings.host, port));
    }
    if let Some(service) = args.service {
        return Target::Ask(ready_url(&settings.host, settings.ports.of(service)));
    }
    for command in running {
        if let Some(target) = target_of(command) {
            return target;
        }
    }
    Target::Ask(ready_url(
        &settings.host,
        settings.ports.of(Service::Gateway),
    ))
}

/// What to ask of a process started with `command` (its whole command line, program first),
/// read with the settings this process sees; `None` when it is not one to check (another health
/// check, or a command line that does not parse).
fn target_of(command: Vec<OsString>) -> Option<Target> {
    // Help and version requests print and exit inside the parser; such a process is not a
    // server anyway.
    let asks_help = command.iter().skip(1).any(|arg| {
        matches!(
            arg.to_str(),
            Some("-h" | "--help" | "help" | "-V" | "--version")
        )
    });
    if asks_help {
        return None;
    }
    match settings::parse(command).ok()? {
        Invocation::Serve(service, settings) => Some(ask_service(&settings, service)),
        // Every service in one process: the gateway answers for the stack.
        Invocation::Up(settings) => Some(ask_service(&settings, Service::Gateway)),
        Invocation::RotateKey(_) => Some(Target::NothingToAsk(
            "the microshop process runs an admin command (auth rotate-key)".to_owned(),
        )),
        Invocation::HealthCheck(_) => None,
    }
}

fn ask_service(settings: &Settings, service: Service) -> Target {
    Target::Ask(ready_url(&settings.host, settings.ports.of(service)))
}

/// `/health/ready` on `port` of the listening address `host`, asked from this machine: a
/// service listening on every interface (`0.0.0.0`, `::`) is asked on the loopback.
pub fn ready_url(host: &str, port: u16) -> String {
    format!("{}/health/ready", crate::settings::local_url(host, port))
}

/// The command lines of the other `microshop` processes on this machine (in a container: the
/// one the container runs, PID 1 first). Empty where `/proc` cannot be read.
fn running_microshop_commands() -> Vec<Vec<OsString>> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut pids: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| *pid != own)
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let command = split_command_line(&raw);
            let program = std::path::Path::new(command.first()?).file_name()?;
            (program == "microshop").then_some(command)
        })
        .collect()
}

/// A `/proc/<pid>/cmdline`: the arguments, each ended by a NUL byte.
fn split_command_line(raw: &[u8]) -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt;
    raw.split(|byte| *byte == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| std::ffi::OsStr::from_bytes(arg).to_owned())
        .collect()
}

/// What a readiness endpoint answered.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    /// The body, on one line and shortened: a readiness answer says which check failed.
    reason: Option<String>,
}

/// One `GET` of `url` over a fresh connection.
async fn ask(url: &str) -> Result<Answer, String> {
    let uri: Uri = url
        .parse()
        .map_err(|error| format!("invalid URL: {error}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// URLs can be checked".to_owned());
    }
    let authority = uri.authority().ok_or("the URL names no host")?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let mut stream = TcpStream::connect((host, port))
        .await
        .map_err(|error| format!("cannot connect: {error}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: microshop-health-check\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| format!("cannot send the request: {error}"))?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while answer.len() < MAX_ANSWER_BYTES {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
            // A reset after a complete answer still leaves the answer.
            Err(_) if !answer.is_empty() => break,
            Err(error) => return Err(format!("no answer: {error}")),
        }
    }
    parse_answer(&answer)
}

/// The status (and, when the body is plain, its text) of a raw HTTP/1.x answer.
fn parse_answer(raw: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(raw);
    let status_line = text.lines().next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| format!("not an HTTP answer: {:?}", shorten(status_line)))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    // A chunked body would show its chunk sizes: leave it out rather than garble it.
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let reason = (!chunked && !body.is_empty()).then(|| shorten(&body));
    Ok(Answer { status, reason })
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_REASON_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_REASON_CHARS).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str]) -> HealthCheck {
        let mut command = vec!["microshop", "health-check"];
        command.extend_from_slice(args);
        match settings::parse(command.into_iter().map(OsString::from).collect()).unwrap() {
            Invocation::HealthCheck(check) => check,
            other => panic!("expected health-check, got {other:?}"),
        }
    }

    fn command(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    fn ask(url: &str) -> Target {
        Target::Ask(url.to_owned())
    }

    #[test]
    fn an_explicit_url_port_or_service_wins_over_the_running_process() {
        let running = || vec![command("/usr/local/bin/microshop serve orders")];
        assert_eq!(
            target(&check(&["--url", "http://10.1.2.3:81/ready"]), running()),
            ask("http://10.1.2.3:81/ready")
        );
        assert_eq!(
            target(&check(&["--port", "9100"]), running()),
            ask("http://127.0.0.1:9100/health/ready")
        );
        assert_eq!(
            target(&check(&["payments", "--payments-port", "9105"]), running()),
            ask("http://127.0.0.1:9105/health/ready")
        );
        assert_eq!(
            target(&check(&["payments"]), running()),
            ask("http://127.0.0.1:8005/health/ready")
        );
    }

    #[test]
    fn without_arguments_the_service_beside_is_asked_on_the_port_it_listens_on() {
        let target_of_running = |line: &str| target(&check(&[]), vec![command(line)]);
        assert_eq!(
            target_of_running("/usr/local/bin/microshop serve orders"),
            ask("http://127.0.0.1:8003/health/ready")
        );
        // Flags before or after the service, and the listening address, are read as `serve`
        // reads them.
        assert_eq!(
            target_of_running("microshop serve --orders-port 9003 orders"),
            ask("http://127.0.0.1:9003/health/ready")
        );
        assert_eq!(
            target_of_running("microshop serve notifier --host :: --notifier-port 9006"),
            ask("http://[::1]:9006/health/ready")
        );
        assert_eq!(
            target_of_running("microshop up --gateway-port 8080"),
            ask("http://127.0.0.1:8080/health/ready")
        );
        assert_eq!(
            target_of_running("microshop"),
            ask("http://127.0.0.1:8000/health/ready")
        );
        assert!(matches!(
            target_of_running("microshop auth rotate-key"),
            Target::NothingToAsk(_)
        ));
    }

    #[test]
    fn other_health_checks_and_unreadable_commands_are_passed_over() {
        let running = vec![
            command("microshop health-check"),
            command("microshop serve no-such-service"),
            command("microshop serve --help"),
            command("microshop serve products"),
        ];
        assert_eq!(
            target(&check(&[]), running),
            ask("http://127.0.0.1:8004/health/ready")
        );
        assert_eq!(
            target(&check(&[]), Vec::new()),
            ask("http://127.0.0.1:8000/health/ready"),
            "with nothing running beside it, the gateway"
        );
    }

    #[test]
    fn a_listening_address_is_asked_from_this_machine() {
        assert_eq!(ready_url("0.0.0.0", 1), "http://127.0.0.1:1/health/ready");
        assert_eq!(ready_url("127.0.0.1", 2), "http://127.0.0.1:2/health/ready");
        assert_eq!(ready_url("::", 3), "http://[::1]:3/health/ready");
        assert_eq!(ready_url("::1", 4), "http://[::1]:4/health/ready");
        assert_eq!(ready_url("localhost", 5), "http://localhost:5/health/ready");
    }

    #[test]
    fn a_command_line_is_split_on_its_nul_bytes() {
        assert_eq!(
            split_command_line(b"/usr/local/bin/microshop\0serve\0orders\0"),
            command("/usr/local/bin/microshop serve orders")
        );
    }

    #[test]
    fn an_answer_gives_its_status_and_a_short_reason() {
        let answer = parse_answer(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
              content-length: 40\r\n\r\n{\"status\":\"not_ready\",\n\"checks\":{}}",
        )
        .unwrap();
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            answer.reason.as_deref(),
            Some("{\"status\":\"not_ready\", \"checks\":{}}")
        );
        let ok = parse_answer(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.reason, None);
        let chunked = parse_answer(
            b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(chunked.reason, None);
        assert!(parse_answer(b"SSH-2.0-OpenSSH_9.2\r\n").is_err());
        assert!(parse_answer(b"").is_err());
        let long = format!("HTTP/1.1 500 Oops\r\n\r\n{}", "x".repeat(1000));
        let reason = parse_answer(long.as_bytes()).unwrap().reason.unwrap();
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS + 1);
    }
}
