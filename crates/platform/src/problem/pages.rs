//! `GET /problems` and `GET /problems/{code}`: the pages a problem's `type` points to.
//!
//! A problem's `type` is the relative URI `/problems/{code}`, so it resolves against whichever
//! origin answered: the gateway, or a service called directly on its own port. Every service
//! therefore serves every page ([`crate::http::service_app`] mounts [`router`]), the gateway
//! included, where they are public like `/docs`: a developer following a `type` from a 401 has
//! no token to send.
//!
//! The pages are plain, self-contained HTML made once from the [`catalogue`](super::catalogue) (no script, no
//! external asset, the one inline style allowed by its hash in the Content-Security-Policy), so
//! answering one costs a lookup and a reference count. Everything written into them is escaped,
//! although the catalogue is ours: the pages stay safe whatever an entry comes to say.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, header};

use super::Problem;
use super::catalogue::{CATALOGUE, Entry};

/// Where the pages are: the prefix of every problem's `type`.
pub const PREFIX: &str = "/problems";

/// The pages' one style sheet, inline so a page needs nothing else; the CSP allows it by hash.
const STYLE: &str = "body{font:1rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;\
max-width:48rem;margin:0 auto;padding:1rem 1.25rem}a{color:#0b57d0}a:focus{outline:2px solid \
#0b57d0;outline-offset:2px}code{font-family:ui-monospace,monospace;background:#f1f1f1;\
padding:0 .2em}dt{font-weight:600}dd{margin:0 0 .5rem}table{border-collapse:collapse;\
width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ccc;\
vertical-align:top}caption{text-align:left;padding:.5rem 0}";

/// The routes, to be wrapped in the common layers with a service's own.
pub fn router() -> Router {
    Router::new()
        .route(PREFIX, get(index))
        .route(&format!("{PREFIX}/{{code}}"), get(page))
}

/// Every page, rendered on first use.
struct Pages {
    index: Bytes,
    /// In [`CATALOGUE`]'s order.
    entries: Vec<Bytes>,
    /// `default-src 'none'`, but for the inline style.
    content_security_policy: HeaderValue,
}

static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    let digest = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    );
    Pages {
        index: Bytes::from(render_index()),
        entries: CATALOGUE
            .iter()
            .map(|entry| Bytes::from(render_entry(entry)))
            .collect(),
        content_security_policy: HeaderValue::from_str(&policy).expect("a valid header value"),
    }
});

async fn index() -> Response {
    html(PAGES.index.clone())
}

async fn page(Path(code): Path<String>) -> Response {
    let found = CATALOGUE
        .binary_search_by(|entry| entry.code.cmp(&code))
        .ok()
        .and_then(|index| PAGES.entries.get(index));
    match found {
        Some(page) => html(page.clone()),
        None => Problem::not_found()
            .detail(format!(
                "No problem type has this code; {PREFIX} lists them all"
            ))
            .into_response(),
    }
}

fn html(body: Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                PAGES.content_security_policy.clone(),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            // The catalogue changes only with a new release.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Appends `text` to `out`, safe as HTML text and in a quoted attribute.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Appends prose from the catalogue: escaped, with `backquoted` names (body members, headers'
/// values) set as code.
fn prose_into(out: &mut String, text: &str) {
    for (index, part) in text.split('`').enumerate() {
        if index % 2 == 1 {
            out.push_str("<code>");
            escape_into(out, part);
            out.push_str("</code>");
        } else {
            escape_into(out, part);
        }
    }
}

/// Appends the entry's `type`, the path of its page.
fn type_into(out: &mut String, entry: &Entry) {
    escape_into(out, PREFIX);
    out.push('/');
    escape_into(out, entry.code);
}

/// `404 Not Found, 409 Conflict`.
fn statuses(entry: &Entry) -> String {
    entry
        .statuses
        .iter()
        .map(|status| {
            let reason = http::StatusCode::from_u16(*status)
                .ok()
                .and_then(|status| status.canonical_reason())
                .unwrap_or("");
            format!("{status} {reason}").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The start of a page, through `<main>`.
fn head(out: &mut String, title: &str) {
    out.push_str(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
    );
    escape_into(out, title);
    out.push_str("</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
}

const ABOUT: &str = "<p>microshop answers every error as RFC 9457 problem details \
(<code>application/problem+json</code>). Programs branch on <code>code</code>; <code>title</code> \
and <code>detail</code> are for people.</p>\n";

fn render_entry(entry: &Entry) -> String {
    let mut out = String::with_capacity(2048);
    head(
        &mut out,
        &format!("{} ({}) · microshop problem types", entry.title, entry.code),
    );
    out.push_str("<nav aria-label=\"Problem types\"><a href=\"");
    out.push_str(PREFIX);
    out.push_str("\">All problem types</a></nav>\n<h1>");
    escape_into(&mut out, entry.title);
    out.push_str("</h1>\n<dl>\n<dt>Code</dt><dd><code>");
    escape_into(&mut out, entry.code);
    out.push_str("</code></dd>\n<dt>HTTP status</dt><dd>");
    escape_into(&mut out, &statuses(entry));
    out.push_str("</dd>\n<dt>Type</dt><dd><code>");
    type_into(&mut out, entry);
    out.push_str("</code></dd>\n</dl>\n<h2>What it means</h2>\n<p>");
    prose_into(&mut out, entry.meaning);
    out.push_str("</p>\n<h2>What to do</h2>\n<p>");
    prose_into(&mut out, entry.action);
    out.push_str("</p>\n");
    out.push_str(ABOUT);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn render_index() -> String {
    let mut out = String::with_capacity(256 * CATALOGUE.len());
    head(&mut out, "Problem types · microshop");
    out.push_str("<h1>Problem types</h1>\n");
    out.push_str(ABOUT);
    out.push_str(
        "<table>\n<caption>Every problem code microshop answers with</caption>\n<thead>\
         <tr><th scope=\"col\">Code</th><th scope=\"col\">HTTP status</th>\
         <th scope=\"col\">Title</th></tr></thead>\n<tbody>\n",
    );
    for entry in CATALOGUE {
        out.push_str("<tr><td><a href=\"");
        type_into(&mut out, entry);
        out.push_str("\"><code>");
        escape_into(&mut out, entry.code);
        out.push_str("</code></a></td><td>");
        escape_into(&mut out, &statuses(entry));
        out.push_str("</td><td>");
        escape_into(&mut out, entry.title);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::StatusCode;
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str) -> (StatusCode, http::HeaderMap, String) {
        let request = http::Request::get(path).body(Body::empty()).unwrap();
        let response = router().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    fn assert_html_page(headers: &http::HeaderMap, body: &str) {
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            policy.starts_with("default-src 'none'; style-src 'sha256-"),
            "{policy}"
        );
        assert!(
            body.starts_with("<!doctype html>\n<html lang=\"en\">"),
            "{body}"
        );
        assert!(body.contains(&format!("<style>{STYLE}</style>")));
        // Self-contained: nothing is loaded, the only links are to other problem pages.
        for attribute in ["src=", "<script", "<link", "url("] {
            assert!(!body.contains(attribute), "{attribute} in {body}");
        }
        for (at, _) in body.match_indices("href=\"") {
            let target = &body[at + 6..];
            assert!(
                target.starts_with(PREFIX),
                "{}",
                &target[..40.min(target.len())]
            );
        }
    }

    #[tokio::test]
    async fn every_code_has_a_page_that_explains_it_and_links_to_the_index() {
        for entry in CATALOGUE {
            let (status, headers, body) = get(&format!("{PREFIX}/{}", entry.code)).await;
            assert_eq!(status, StatusCode::OK, "{}", entry.code);
            assert_html_page(&headers, &body);
            assert!(
                body.contains(&format!("<code>{}</code>", entry.code)),
                "{body}"
            );
            let mut title = String::new();
            escape_into(&mut title, entry.title);
            assert!(body.contains(&format!("<h1>{title}</h1>")), "{body}");
            assert!(body.contains(&format!("<a href=\"{PREFIX}\">")), "{body}");
            for status in entry.statuses {
                assert!(
                    body.contains(&status.to_string()),
                    "{}: {status}",
                    entry.code
                );
            }
            assert_eq!(
                body.matches("<code>").count(),
                body.matches("</code>").count()
            );
        }
    }

    #[tokio::test]
    async fn the_index_links_every_code() {
        let (status, headers, body) = get(PREFIX).await;
        assert_eq!(status, StatusCode::OK);
        assert_html_page(&headers, &body);
        for entry in CATALOGUE {
            let link = format!(
                "<a href=\"{PREFIX}/{}\"><code>{}</code></a>",
                entry.code, entry.code
            );
            assert!(body.contains(&link), "{link}");
        }
    }

    #[tokio::test]
    async fn an_unknown_code_is_a_404_problem() {
        for path in ["/problems/no_such_code", "/problems/%3Cscript%3E"] {
            let (status, headers, body) = get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert_eq!(headers[header::CONTENT_TYPE], super::super::PROBLEM_JSON);
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["code"], "not_found");
            assert!(!body.to_string().contains("script"), "{body}");
        }
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_style() {
        let digest = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
        let policy = PAGES.content_security_policy.to_str().unwrap();
        assert!(
            policy.contains(&format!("style-src 'sha256-{hash}';")),
            "{policy}"
        );
        assert!(!policy.contains("unsafe"));
    }

    #[test]
    fn text_is_escaped_and_backquotes_become_code() {
        let mut out = String::new();
        prose_into(&mut out, "a <b> & \"c\" 'd' `e<f>` g");
        assert_eq!(
            out,
            "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39; <code>e&lt;f&gt;</code> g"
        );
    }
}
