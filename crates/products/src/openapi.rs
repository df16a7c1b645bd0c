//! The products service's OpenAPI 3.1 document, generated from the code: each route module
//! declares its operations next to its handlers (`#[utoipa::path]`), this module adds what they
//! share (security schemes, problem answers; see [`platform::openapi`]) and serves the result
//! at `GET /openapi.json`. The gateway merges the public part of every service's document into
//! the one it shows at `/docs`.

use axum::Router;
use axum::routing::get;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "microshop products",
        description = "The products service: the catalogue and stock reservations. Errors are RFC 9457 problems \
                       (`application/problem+json`); branch on their `code`."
    ),
    tags(
        (name = "products", description = "The catalogue"),
        (name = "internal", description = "Service-to-service only (X-Internal-Token); not published by the gateway")
    )
)]
struct ApiDoc;

/// The whole document: every route of [`crate::routes`], internal ones included (tagged
/// `internal`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi().merge_from(crate::routes::openapi());
    platform::openapi::Common {
        service: "products",
    }
    .modify(&mut doc);
    doc
}

/// `GET /openapi.json`, for any state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(|| async { axum::Json(openapi()) }))
}
