//! The web front-end, compiled into the gateway binary.
//!
//! `web/` holds plain HTML, CSS and JavaScript modules with no build step; this module embeds
//! every file of it with `include_bytes!`, so `cargo run --release` serves the shop with nothing
//! else to install or deploy, and the UI can never be out of step with the gateway it calls
//! (same origin: no CORS, and the access token never leaves the page's origin).
//!
//! The entry page answers at `/` and every file at `/ui/<path>`: a prefix no API service owns,
//! so a static file can never shadow a route. Every answer carries a Content-Security-Policy that
//! allows scripts, styles and requests from this origin only (no inline script, so an injected
//! `<script>` or `onerror=` does not run even if some data slipped into markup), plus
//! `nosniff`. The file names carry no content hash (there is no build step to add one), so
//! browsers revalidate each file (`no-cache`) and get a 304 from its ETag when it has not
//! changed: a new binary's UI is seen at once, an unchanged one costs no bytes.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use platform::Problem;

/// Where the front-end's files are served.
pub(crate) const PREFIX: &str = "/ui";

/// Same-origin everything, nothing inline, no plugins, no framing, no `<base>` rewriting.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
#[derive(Debug)]
struct Asset {
    /// Path below `web/`, as served below [`PREFIX`].
    path: &'static str,
    bytes: &'static [u8],
    /// A strong validator computed at compile time from the content.
    etag: u64,
}

/// FNV-1a: stable across builds and Rust versions, cheap enough for compile-time evaluation.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut index = 0;
    while index < bytes.len() {
        hash ^= bytes[index] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        index += 1;
    }
    hash
}

/// Embeds `web/<path>` for each path given. A file added to `web/` must be listed here; the
/// gateway's tests walk the folder and fail on any file that is not.
macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset {
            path: $path,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/", $path)),
            etag: fnv1a(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/", $path))),
        }),*]
    };
}

static ASSETS: &[Asset] = assets![
    "index.html",
    "app.css",
    "favicon.svg",
    "images/products/headphones.svg",
    "images/products/keyboard.svg",
    "images/products/laptop-stand.svg",
    "images/products/monitor.svg",
    "images/products/mouse.svg",
    "images/products/placeholder.svg",
    "images/products/usb-hub.svg",
    "js/api.js",
    "js/app.js",
    "js/cart.js",
    "js/catalogue.js",
    "js/dom.js",
    "js/live.js",
    "js/people.js",
    "js/session.js",
    "js/pages/admin.js",
    "js/pages/cars.js",
    "js/pages/checkout.js",
    "js/pages/events.js",
    "js/pages/hits.js",
    "js/pages/notifications.js",
    "js/pages/orders.js",
    "js/pages/product.js",
    "js/pages/profile.js",
    "js/pages/shop.js",
    "js/pages/signin.js",
];

/// `/ui/{*path}`; the entry page's own route (`/`) is the caller's.
pub(crate) fn router() -> Router {
    Router::new().route(&format!("{PREFIX}/{{*path}}"), get(asset))
}

/// `GET /`: the shop's single page (the views are chosen by the URL's fragment).
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers).unwrap_or_else(|| Problem::not_found().into_response())
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers).unwrap_or_else(|| {
        Problem::not_found()
            .detail("No file of the web front-end has this name")
            .into_response()
    })
}

/// The file at `path`, or 304 when the client's copy is current; `None` for an unknown path.
fn serve(path: &str, headers: &HeaderMap) -> Option<Response> {
    let asset = ASSETS.iter().find(|asset| asset.path == path)?;
    let etag = format!("\"{:016x}\"", asset.etag);
    let current = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*")
        });
    let etag = HeaderValue::from_str(&etag).ok()?;
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    if current {
        return Some((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let content_type = HeaderValue::from_static(content_type(path));
    Some((common, [(header::CONTENT_TYPE, content_type)], asset.bytes).into_response())
}

/// The media type by extension; only the kinds `web/` holds.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_has_a_known_media_type() {
        for asset in ASSETS {
            assert_ne!(
                content_type(asset.path),
                "application/octet-stream",
                "{}",
                asset.path
            );
        }
    }

    #[test]
    fn the_prefix_belongs_to_no_service() {
        for route in crate::routes::ROUTES {
            assert!(!route.prefix.starts_with(PREFIX), "{}", route.prefix);
            assert!(!PREFIX.starts_with(route.prefix), "{}", route.prefix);
        }
    }

    #[test]
    fn etags_follow_the_content() {
        assert_eq!(fnv1a(b"a"), fnv1a(b"a"));
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
