//! The API reference stays complete: every route a service registers is in its OpenAPI
//! document and every documented operation is a registered route, every error answer is a
//! problem, and the gateway publishes the public part at `/docs` with nothing loaded from
//! elsewhere.
//!
//! axum cannot list a router's routes, so the registrations are read from the source: every
//! `.route("path", get(..).post(..))` in a service's `src/routes/*.rs`, where the route modules
//! live (the parser refuses anything it does not understand rather than skip it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::stack::TestStack;

/// A document as JSON (the test does not need utoipa's types).
fn json(doc: impl serde::Serialize) -> Value {
    serde_json::to_value(doc).expect("an OpenAPI document serializes")
}

/// Each service with its generated document.
fn documents() -> Vec<(&'static str, Value)> {
    vec![
        ("auth", json(auth::openapi::openapi())),
        ("users", json(users::openapi::openapi())),
        ("products", json(products::openapi::openapi())),
        ("payments", json(payments::openapi::openapi())),
        ("orders", json(orders::openapi::openapi())),
        ("notifier", json(notifier::openapi::openapi())),
        ("cars", json(cars::openapi::openapi())),
        ("agenda", json(agenda::openapi::openapi())),
        ("hits", json(hits::openapi::openapi())),
    ]
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// (METHOD, path) of every registration in `source`.
fn registrations(source: &str, file: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let literal = rest
            .trim_start()
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("{file}: a route path that is not a string literal"));
        let end = literal.find('"').expect("a closed string literal");
        let path = &literal[..end];
        // The method chain, up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let mut word = String::new();
        for c in literal[end + 1..].chars() {
            match c {
                '(' => {
                    if depth == 1 && !word.is_empty() {
                        assert!(
                            METHODS.contains(&word.as_str()),
                            "{file}: `{word}(` in the route of {path}: teach this test about it"
                        );
                        found.push((word.to_uppercase(), path.to_owned()));
                    }
                    word.clear();
                    depth += 1;
                }
                ')' => {
                    word.clear();
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                c if c.is_alphanumeric() || c == '_' => word.push(c),
                _ => word.clear(),
            }
        }
    }
    found
}

/// Every route registered in `service`'s `src/routes/*.rs`.
fn registered(service: &str) -> BTreeSet<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(service)
        .join("src/routes");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("{dir:?}: {error}")) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            routes.extend(registrations(&source, &path.display().to_string()));
        }
    }
    routes
}

/// Every (METHOD, path) a document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

fn operations(doc: &Value) -> impl Iterator<Item = (String, &Value)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS.into_iter().filter_map(move |method| {
                item.get(method)
                    .map(|operation| (format!("{} {path}", method.to_uppercase()), operation))
            })
        })
}

fn security_schemes(operation: &Value) -> BTreeSet<String> {
    operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().cloned())
        .collect()
}

fn tags(operation: &Value) -> Vec<&str> {
    operation["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Every `$ref` below `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => refs(value, found),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|value| refs(value, found)),
        _ => {}
    }
}

/// Whatever a document is for, these hold for every one of its operations.
fn assert_complete(name: &str, doc: &Value) {
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "{name}: openapi {version}");
    // Rust's intra-doc links mean nothing to an API client.
    let text = doc.to_string();
    assert!(
        !text.contains("[`"),
        "{name}: a doc comment link leaked into the document"
    );
    let schemes = &doc["components"]["securitySchemes"];
    for (operation_name, operation) in operations(doc) {
        let at = format!("{name}: {operation_name}");
        assert!(!tags(operation).is_empty(), "{at} has no tag");
        assert!(operation["operationId"].is_string(), "{at} has no id");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{at} documents no success"
        );
        for required in ["500", "503"] {
            assert!(responses.contains_key(required), "{at} lacks {required}");
        }
        for (status, response) in responses {
            assert!(response["description"].is_string(), "{at} {status}");
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{at} {status} is not a problem"
                );
            }
        }
        let accepted = security_schemes(operation);
        for scheme in &accepted {
            assert!(
                schemes.get(scheme).is_some(),
                "{at}: unknown scheme {scheme}"
            );
        }
        if accepted.contains("bearer") {
            assert!(responses.contains_key("401"), "{at} lacks 401");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{at} lacks {status}");
            }
        }
        // Internal routes say so twice: in their security and in their tag.
        let internal_tag = tags(operation).contains(&"internal");
        assert_eq!(
            accepted.contains("internal_token"),
            internal_tag,
            "{at}: the internal token and the `internal` tag go together"
        );
        if operation_name.contains(" /internal/") {
            assert!(internal_tag, "{at} is internal but not tagged so");
        }
    }
    let mut targets = Vec::new();
    refs(doc, &mut targets);
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{name}: unexpected $ref {target}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{name}: $ref to a missing schema {target}"
        );
    }
}

#[test]
fn the_route_parser_reads_chained_and_multi_line_registrations() {
    let source = r#"
        Router::new()
            .route("/a", get(list).post(create))
            .route(
                "/a/{id}",
                get(read)
                    .patch(patch)
                    .delete(delete),
            )
            .route_layer(middleware::from_fn(check))
            .route("/b", put(replace_with(x)))
    "#;
    let found: BTreeSet<_> = registrations(source, "sample").into_iter().collect();
    let expected: BTreeSet<_> = [
        ("GET", "/a"),
        ("POST", "/a"),
        ("GET", "/a/{id}"),
        ("PATCH", "/a/{id}"),
        ("DELETE", "/a/{id}"),
        ("PUT", "/b"),
    ]
    .into_iter()
    .map(|(method, path)| (method.to_owned(), path.to_owned()))
    .collect();
    assert_eq!(found, expected);
}

#[test]
#[should_panic(expected = "teach this test")]
fn the_route_parser_refuses_a_method_router_it_does_not_know() {
    registrations(r#".route("/x", any(handler))"#, "sample");
}

#[test]
fn every_registered_route_is_documented_and_every_documented_route_is_registered() {
    let mut failures = Vec::new();
    for (service, doc) in documents() {
        let routes = registered(service);
        assert!(
            !routes.is_empty(),
            "{service}: no route found in the source"
        );
        let operations = documented(&doc);
        for missing in routes.difference(&operations) {
            failures.push(format!(
                "{service}: {} {} has no spec entry",
                missing.0, missing.1
            ));
        }
        for extra in operations.difference(&routes) {
            failures.push(format!(
                "{service}: {} {} is documented but not routed",
                extra.0, extra.1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_operation_documents_its_problems_security_and_schemas() {
    for (service, doc) in documents() {
        assert_complete(service, &doc);
        // Prefixed, so that ids stay unique once the gateway merges the documents.
        for (operation_name, operation) in operations(&doc) {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                id.starts_with(&format!("{service}_")),
                "{service}: {operation_name} has the id {id}"
            );
        }
    }
}

#[test]
fn no_two_services_define_a_schema_differently() {
    let mut seen: BTreeMap<String, (&str, Value)> = BTreeMap::new();
    for (service, doc) in documents() {
        for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
            if let Some((first, existing)) = seen.get(name) {
                assert_eq!(existing, schema, "{name}: {first} and {service} differ");
            } else {
                seen.insert(name.clone(), (service, schema.clone()));
            }
        }
    }
}

/// `http://` or `https://` followed by a host, anywhere in `text`.
fn absolute_urls(text: &str) -> Vec<String> {
    text.match_indices("http")
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let scheme = ["https://", "http://"]
                .into_iter()
                .find(|scheme| rest.starts_with(scheme))?;
            let host: String = rest[scheme.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':'))
                .collect();
            Some(format!("{scheme}{host}"))
        })
        .collect()
}

/// Every `src="..."` and `href="..."` of an HTML page.
fn linked(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            if let Some(end) = rest.find('"') {
                links.push(rest[..end].to_owned());
            }
        }
    }
    links
}

#[tokio::test]
async fn the_gateway_publishes_the_public_routes_and_a_self_contained_swagger_ui() {
    let stack = TestStack::start().await;

    let response = stack
        .client
        .get(format!("{}/docs/openapi.json", stack.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let merged: Value = response.json().await.unwrap();
    assert_complete("gateway", &merged);
    let published = documented(&merged);

    // Every public operation of every service is there; internal ones are not.
    for (service, doc) in documents() {
        for (operation_name, operation) in operations(&doc) {
            let (method, path) = operation_name.split_once(' ').unwrap();
            let key = (method.to_owned(), path.to_owned());
            let internal = tags(operation).contains(&"internal");
            let unrouted = path.starts_with("/health/");
            if internal || unrouted {
                assert!(
                    !published.contains(&key),
                    "{service}: {operation_name} is published"
                );
            } else {
                assert!(
                    published.contains(&key),
                    "{service}: {operation_name} is missing"
                );
            }
        }
    }
    for alias in [("POST", "/login"), ("POST", "/signup"), ("GET", "/me")] {
        let key = (alias.0.to_owned(), alias.1.to_owned());
        assert!(
            published.contains(&key),
            "the gateway alias {alias:?} is missing"
        );
    }
    assert!(merged["components"]["securitySchemes"]["bearer"].is_object());
    assert!(merged["components"]["securitySchemes"]["internal_token"].is_null());
    // Nor are the shapes only internal routes use.
    assert!(merged["components"]["schemas"]["ReserveBody"].is_null());
    assert!(merged["components"]["schemas"]["ChargeRequest"].is_null());
    assert!(merged["paths"]["/orders"]["post"]["responses"]["429"].is_object());

    // The service's own document is served by the service itself.
    let own: Value = stack
        .client
        .get(format!("{}/openapi.json", stack.auth))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(own, json(auth::openapi::openapi()));

    // The UI: HTML linking only to files the gateway serves itself.
    let response = stack
        .client
        .get(format!("{}/docs", stack.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), "/docs/");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert_eq!(absolute_urls(&html), Vec::<String>::new(), "{html}");
    let links = linked(&html);
    assert!(links.iter().any(|link| link.ends_with(".js")), "{links:?}");
    for link in links {
        let url = format!("{}/docs/{}", stack.gateway, link.trim_start_matches("./"));
        let status = stack.client.get(&url).send().await.unwrap().status();
        assert_eq!(status, 200, "{url}");
    }
    let initializer = stack
        .client
        .get(format!("{}/docs/swagger-initializer.js", stack.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/docs/openapi.json"), "{initializer}");
    assert_eq!(
        absolute_urls(&initializer),
        Vec::<String>::new(),
        "{initializer}"
    );

    // The front-end keeps its strict policy: no inline style at `/`.
    let home = stack.client.get(&stack.gateway).send().await.unwrap();
    let policy = home.headers()["content-security-policy"].to_str().unwrap();
    assert!(!policy.contains("unsafe-inline"), "{policy}");
}

/// The validator the documents are checked with: `python3 -m openapi_spec_validator`
/// (`pip install openapi-spec-validator`), or `None` when it is not installed.
fn spec_validator() -> Option<std::process::Command> {
    let installed = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|output| output.status.success());
    installed.then(|| {
        let mut command = std::process::Command::new("python3");
        command.args(["-m", "openapi_spec_validator"]);
        command
    })
}

#[tokio::test]
async fn every_served_document_passes_a_standard_openapi_validator() {
    let Some(_) = spec_validator() else {
        // Where the backends are promised (CI, or a developer who set them up), a missing tool
        // must not turn this check into a silent pass.
        let required = std::env::var_os("CI").is_some()
            || std::env::var_os(test_support::POSTGRES_ENV).is_some();
        assert!(
            !required,
            "openapi-spec-validator is not installed: pip install openapi-spec-validator"
        );
        eprintln!(
            "skipping: openapi-spec-validator is not installed (pip install \
             openapi-spec-validator)"
        );
        return;
    };
    let stack = TestStack::start().await;
    let mut served = Vec::new();
    for &service in microshop::EMBEDDED_SERVICES {
        let url = match service {
            microshop::settings::Service::Gateway => format!("{}/docs/openapi.json", stack.gateway),
            other => format!("http://{}/openapi.json", stack.addr(other)),
        };
        let response = stack.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        served.push((service.name(), response.text().await.unwrap()));
    }

    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, text) in served {
        let file = scratch.path().join(format!("{name}.json"));
        std::fs::write(&file, text).unwrap();
        let output = spec_validator()
            .unwrap()
            .args(["--validation-errors", "all"])
            .arg(&file)
            .output()
            .expect("the validator runs");
        if !output.status.success() {
            failures.push(format!(
                "{name}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
