//! `/` and `/ui/…`: the web front-end (see [`crate::web`]).
//!
//! A person opening the gateway's address in a browser gets the shop itself; the JSON API stays
//! at its own prefixes, which the front-end calls on the same origin.

use axum::Router;
use axum::routing::get;

/// The entry page at `/` and the front-end's files below [`crate::web::PREFIX`].
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(crate::web::index))
        .merge(crate::web::router())
}
