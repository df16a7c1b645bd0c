//! The README's examples stay true: every `curl` of its shell blocks calls a route the gateway
//! publishes, none needs a tool beyond curl and sed (no `uuidgen`), and the order, sign-out
//! and notification-stream examples are sent to a running stack as written.
//!
//! The commands are read from the README's ```` ```sh ```` blocks with a small shell word
//! splitter (quotes, backslash escapes, `\` line continuations); variables such as `$TOKEN`
//! are left as they are and filled in by the test.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::stack::TestStack;

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"))
}

/// The lines of every block fenced as ```` ```lang ```` (`""`: a bare fence), with `\`
/// continuations joined: an opening fence names a language, the next fence closes it.
fn fenced(text: &str, lang: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(fence) = trimmed.strip_prefix("```") {
            match open.take() {
                Some((language, block)) => {
                    if language == lang {
                        found.push(block);
                    }
                }
                None => open = Some((fence.trim().to_owned(), Vec::new())),
            }
            continue;
        }
        if let Some((_, block)) = &mut open {
            match block.last_mut() {
                Some(last) if last.ends_with('\\') => {
                    last.pop();
                    last.push(' ');
                    last.push_str(trimmed);
                }
                _ => block.push(trimmed.to_owned()),
            }
        }
    }
    found
}

/// Shell words: quotes removed, escapes resolved, `$VARIABLES` kept; stops at a comment.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            word.push(chars.next().unwrap());
                        }
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// A `curl` of the README that calls the gateway (`$G/...`).
#[derive(Debug)]
struct Request {
    method: String,
    /// Without the query string.
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    /// The command as written, for messages.
    command: String,
}

fn request(command: &str) -> Option<Request> {
    let at = command.find("curl ")?;
    let mut text = &command[at..];
    // `VAR=$(curl ...)`: the command substitution ends with the last `)`.
    if command[..at].contains("$(") {
        text = &text[..text.rfind(')')?];
    }
    let words = words(text);
    let mut method = None;
    let mut path = None;
    let mut headers = Vec::new();
    let mut body = None;
    let mut args = words.iter().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-X" => method = args.next().cloned(),
            "-H" => {
                let header = args.next()?;
                let (name, value) = header.split_once(':')?;
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "-d" => body = args.next().cloned(),
            other => {
                if let Some(rest) = other.strip_prefix("$G") {
                    path = Some(rest.split('?').next().unwrap().to_owned());
                }
            }
        }
    }
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into());
    Some(Request {
        method,
        path: path?,
        headers,
        body,
        command: command.to_owned(),
    })
}

/// Every request of the README's shell blocks.
fn requests(text: &str) -> Vec<Request> {
    fenced(text, "sh")
        .into_iter()
        .flatten()
        .filter_map(|command| request(&command))
        .collect()
}

/// Whether the documented `template` (`/orders/{id}`) matches `path`.
fn matches(template: &str, path: &str) -> bool {
    let template: Vec<_> = template.split('/').collect();
    let path: Vec<_> = path.split('/').collect();
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(want, got)| (want.starts_with('{') && want.ends_with('}')) || want == got)
}

#[test]
fn the_word_splitter_reads_quotes_escapes_and_comments() {
    assert_eq!(
        words(r#"curl -d "{\"a\":\"$X\"}" -H 'k: v' $G/p?q=1 # note"#),
        ["curl", "-d", r#"{"a":"$X"}"#, "-H", "k: v", "$G/p?q=1"]
    );
    let request = request(r#"T=$(curl -s -X POST $G/auth/login -d '{"u":1}' | sed 's/x/y/')"#)
        .expect("a request");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/auth/login");
    assert_eq!(request.body.as_deref(), Some(r#"{"u":1}"#));
}

#[test]
fn every_readme_request_calls_a_route_the_gateway_publishes() {
    let text = readme();
    // Examples must run with curl and sed alone.
    assert!(
        !text.contains("uuidgen"),
        "the README needs uuidgen, which many systems lack"
    );
    let docs = serde_json::to_value(microshop::api_docs().openapi()).unwrap();
    let paths = docs["paths"].as_object().unwrap();
    let found = requests(&text);
    assert!(found.len() >= 10, "too few requests read: {found:?}");
    for request in found {
        let method = request.method.to_lowercase();
        let documented = paths.iter().any(|(template, item)| {
            matches(template, &request.path) && item.get(&method).is_some()
        });
        assert!(
            documented,
            "the README's `{}` calls {} {}, which the gateway does not publish",
            request.command, request.method, request.path
        );
        // curl's `-d` without a content type sends a form: right only for an operation that
        // takes one (the OAuth token endpoint).
        let takes_a_form = paths.iter().any(|(template, item)| {
            matches(template, &request.path)
                && item[&method]["requestBody"]["content"]
                    .get("application/x-www-form-urlencoded")
                    .is_some()
        });
        if request.body.is_some() && !takes_a_form {
            assert!(
                request
                    .headers
                    .iter()
                    .any(|(name, value)| name.eq_ignore_ascii_case("content-type")
                        && value == "application/json"),
                "`{}` sends a body without content-type: application/json",
                request.command
            );
        }
    }
}

/// The README's request to `path` (the first one).
fn readme_request(text: &str, method: &str, path: &str) -> Request {
    requests(text)
        .into_iter()
        .find(|request| request.method == method && request.path == path)
        .unwrap_or_else(|| panic!("the README has no {method} {path} example"))
}

/// Sends a README request to the stack, with the variables filled in.
async fn send(stack: &TestStack, request: &Request, vars: &[(&str, &str)]) -> reqwest::Response {
    let fill = |text: &str| {
        vars.iter().fold(text.to_owned(), |text, (name, value)| {
            text.replace(name, value)
        })
    };
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = stack
        .client
        .request(method, format!("{}{}", stack.gateway, request.path));
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), fill(value));
    }
    if let Some(body) = &request.body {
        builder = builder.body(fill(body));
    }
    builder.send().await.unwrap()
}

/// The `event:` names and the `data:` of the README's sample of a notification stream.
fn readme_stream_sample(text: &str) -> Vec<(String, Value)> {
    let sample = fenced(text, "")
        .into_iter()
        .find(|block| {
            block
                .iter()
                .any(|line| line.starts_with("event: notification"))
        })
        .expect("the README shows what a notification stream prints");
    let mut events = Vec::new();
    let mut name = None;
    for line in sample {
        if let Some(event) = line.strip_prefix("event: ") {
            name = Some(event.to_owned());
        } else if let Some(data) = line.strip_prefix("data: ") {
            let data: Value = serde_json::from_str(data).expect("the sample's data is JSON");
            events.push((name.take().expect("data after its event line"), data));
        }
    }
    events
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn the_readmes_order_logout_and_stream_examples_work_as_written() {
    let text = readme();
    let stack = TestStack::start_with(&["--payments-decline-rate", "0"]).await;

    // Sign-up and sign-in as the README does.
    let register = readme_request(&text, "POST", "/auth/register");
    assert_eq!(send(&stack, &register, &[]).await.status(), 201);
    let login = readme_request(&text, "POST", "/auth/login");
    let tokens: Value = send(&stack, &login, &[]).await.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let vars = [("$TOKEN", token.as_str()), ("$REFRESH", refresh.as_str())];

    // The stream, then an order: what the README shows arriving arrives.
    let stream = readme_request(&text, "GET", "/notifications/stream");
    let response = send(&stack, &stream, &vars).await;
    assert_eq!(response.status(), 200);
    let order = readme_request(&text, "POST", "/orders");
    let placed = send(&stack, &order, &vars).await;
    assert_eq!(placed.status(), 201, "{}", order.command);
    // The literal key: sent again, the first answer comes back and nothing more is ordered.
    let again = send(&stack, &order, &vars).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");

    let mut body = response.bytes_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.matches("\ndata: ").count() + usize::from(seen.starts_with("data: ")) < 2 {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("two notifications did not arrive: {seen:?}"))
            .expect("the stream stays open")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let live: Vec<(String, Value)> = seen
        .split("\n\n")
        .filter_map(|event| {
            let name = event
                .lines()
                .find_map(|line| line.strip_prefix("event: "))?;
            let data = event.lines().find_map(|line| line.strip_prefix("data: "))?;
            Some((name.to_owned(), serde_json::from_str(data).unwrap()))
        })
        .collect();
    assert_eq!(live[0].1["kind"], "order.created", "{seen}");
    let sample = readme_stream_sample(&text);
    assert!(!sample.is_empty());
    let kinds = ["order.created", "order.paid", "order.payment_failed"];
    for (name, data) in &sample {
        assert_eq!(name, &live[0].0, "the README's event name");
        // `reason` is there only for an event that has one (a declined payment).
        let mut fields = keys(&live[0].1);
        if data.get("reason").is_some() {
            fields.insert("reason".to_owned());
        }
        assert_eq!(keys(data), fields, "the README's notification fields");
        assert!(kinds.contains(&data["kind"].as_str().unwrap()), "{data}");
    }
    assert_eq!(sample[0].1["kind"], "order.created");

    // Signing out as the README does ends the session.
    let logout = readme_request(&text, "POST", "/auth/logout");
    assert!(
        logout
            .headers
            .iter()
            .any(|(name, value)| name == "authorization" && value == "Bearer $TOKEN"),
        "{}",
        logout.command
    );
    let response = send(&stack, &logout, &vars).await;
    assert_eq!(response.status(), 204, "{}", logout.command);
    let refused = stack
        .client
        .post(format!("{}/auth/refresh", stack.gateway))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_refresh_token");
    // The access token itself lives on until it expires, as the README says.
    let me = stack
        .client
        .get(format!("{}/auth/me", stack.gateway))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}
