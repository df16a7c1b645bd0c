//! The page at `/` until the web front-end is embedded here.
//!
//! A person opening the gateway's address in a browser should learn what answers there rather
//! than get a JSON 404.

use axum::response::Html;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>microshop</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
code { background: #f3f3f3; padding: 0 .25rem; }
</style>
</head>
<body>
<h1>microshop</h1>
<p>This is the microshop gateway, the single entry point of a shop built from microservices.
The web shop will be served here; for now the JSON API is:</p>
<ul>
<li><code>POST /auth/register</code>, <code>POST /auth/login</code>, <code>POST /auth/refresh</code>, <code>GET /auth/me</code></li>
<li><code>GET /products</code>, <code>GET /events</code>, <code>GET /hits</code> (public)</li>
<li><code>/users</code>, <code>/orders</code>, <code>/notifications</code>, <code>/cars</code> (with <code>Authorization: Bearer &lt;access token&gt;</code>)</li>
<li><code>GET /health</code>: the gateway and every service it routes to</li>
</ul>
</body>
</html>
"#;

pub(crate) async fn page() -> Html<&'static str> {
    Html(PAGE)
}
