//! The web front-end as the gateway serves it: every file of `web/` embedded and answered with
//! its media type, a Content-Security-Policy that forbids inline script on every answer, cheap
//! revalidation, and a problem for anything else under the prefix.

use std::path::{Path, PathBuf};

use crate::support::{GatewaySetup, assert_problem};

/// The front-end's source folder; `web/tests` (the browser tests) is not part of the site.
fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

fn site_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path != web_dir().join("tests") {
                site_files(&path, found);
            }
        } else {
            found.push(path);
        }
    }
}

fn expected_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        other => panic!("no media type expected for {path} ({other:?})"),
    }
}

fn assert_protected(response: &reqwest::Response, what: &str) {
    let headers = response.headers();
    let policy = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{what}: {directive} in {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{what}: {policy}");
    assert!(!policy.contains("unsafe-eval"), "{what}: {policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert!(headers.contains_key("etag"), "{what}: no ETag");
    assert_eq!(headers["cache-control"], "no-cache", "{what}");
}

#[tokio::test]
async fn the_home_page_is_the_shop_under_a_policy_that_forbids_inline_script() {
    let app = GatewaySetup::new().start().await;
    let response = app.get("/").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_protected(&response, "/");
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"<script type="module" src="/ui/js/app.js"></script>"#));
    // Every script is a file: the policy would block an inline one anyway.
    for script in page.split("<script").skip(1) {
        let tag = &script[..script.find('>').unwrap()];
        assert!(tag.contains("src="), "inline script: <script{tag}>");
    }
    assert!(
        !page.contains(" style="),
        "inline styles are blocked by the policy"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no third-party address"
    );
}

#[tokio::test]
async fn every_file_of_the_front_end_is_served_with_its_media_type() {
    let app = GatewaySetup::new().start().await;
    let mut files = Vec::new();
    site_files(&web_dir(), &mut files);
    assert!(files.len() > 5, "found {files:?}");
    for file in files {
        let relative = file
            .strip_prefix(web_dir())
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        let url = format!("/ui/{relative}");
        let response = app.get(&url).send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "{url}: is it listed in crates/gateway/src/web.rs?"
        );
        assert_eq!(
            response.headers()["content-type"],
            expected_type(&relative),
            "{url}"
        );
        assert_protected(&response, &url);
        let served = response.bytes().await.unwrap();
        assert_eq!(
            served,
            std::fs::read(&file).unwrap(),
            "{url} is served as it is on disk"
        );
    }
}

#[tokio::test]
async fn an_unknown_file_is_a_404_problem() {
    let app = GatewaySetup::new().start().await;
    for path in [
        "/ui/nope.js",
        "/ui/js/",
        "/ui/tests/package.json",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/..%2fCargo.toml",
        "/index.html",
    ] {
        let response = app.get(path).send().await.unwrap();
        assert_problem(response, 404, "not_found").await;
    }
}

#[tokio::test]
async fn an_unchanged_file_costs_a_304_and_no_bytes() {
    let app = GatewaySetup::new().start().await;
    for path in ["/", "/ui/js/app.js"] {
        let first = app.get(path).send().await.unwrap();
        let etag = first.headers()["etag"].clone();
        let again = app
            .get(path)
            .header("if-none-match", etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"], etag, "{path}");
        assert!(again.bytes().await.unwrap().is_empty());

        let stale = app
            .get(path)
            .header("if-none-match", "\"0000000000000000\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn the_first_page_weighs_under_100_kb() {
    let app = GatewaySetup::new().start().await;
    let page = app.get("/").send().await.unwrap().text().await.unwrap();
    let mut total = page.len();
    // Everything the page names up front: stylesheet, icon, entry module and preloaded modules
    // (the catalogue view among them).
    let linked: Vec<&str> = page
        .split("\"/ui/")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert!(linked.contains(&"js/app.js") && linked.contains(&"js/pages/shop.js"));
    for path in linked {
        let body = app
            .get(&format!("/ui/{path}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        total += body.len();
    }
    assert!(total < 100 * 1024, "the first page weighs {total} bytes");
}
