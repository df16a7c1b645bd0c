//! `/docs`: the API reference, as one OpenAPI 3.1 document and a Swagger UI over it.
//!
//! The documents come from the services' own code (each crate's `openapi()`), but the gateway
//! does not depend on the service crates: whoever assembles a deployment (the `microshop`
//! binary) hands them to [`ApiDocs::merge`], which keeps what a client can reach through this
//! gateway: the operations under a routed prefix, the JWKS and the seed aliases, without the
//! ones tagged `internal` (those need the internal token, which the gateway strips). Every
//! operation also gets the problem answers the gateway itself gives (429, 502, 503, 504).
//!
//! The Swagger UI is compiled into the binary (utoipa-swagger-ui's `vendored` build), so the
//! page works with no internet access. It gets its own Content-Security-Policy: Swagger UI sets
//! inline `style` attributes and draws icons from `data:` URLs, which the front-end's stricter
//! policy at `/` refuses; scripts still come from this origin only.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::response::Response;
use http::{HeaderValue, header};
use platform::openapi::{INTERNAL_TAG, INTERNAL_TOKEN};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, ResponseBuilder,
};
use utoipa_swagger_ui::{Config as UiConfig, SwaggerUi};

use crate::routes::{ALIASES, ROUTES, WELL_KNOWN};

/// Where the Swagger UI answers.
pub const DOCS_PATH: &str = "/docs";
/// Where the merged document answers.
pub const DOCS_JSON_PATH: &str = "/docs/openapi.json";

/// Swagger UI's needs and no more: its own files, inline style attributes, `data:` icons and
/// requests to this origin (the document, "Try it out").
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The answers the gateway gives on any proxied route, whatever the service says.
const GATEWAY_ANSWERS: &[(&str, &str)] = &[
    (
        "429",
        "rate_limited: the client or user is over the gateway's rate limit; retry after \
         `Retry-After` seconds",
    ),
    (
        "502",
        "bad_gateway: the service answered with something that is not HTTP",
    ),
    (
        "503",
        "service_unavailable: the service is down or every instance's circuit breaker is \
         open (`service`, `reason`); retry after `Retry-After` seconds",
    ),
    ("504", "gateway_timeout: the service did not answer in time"),
];

/// The public API reference of a deployment.
#[derive(Clone)]
pub struct ApiDocs {
    doc: OpenApi,
}

impl std::fmt::Debug for ApiDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiDocs")
            .field("paths", &self.doc.paths.paths.len())
            .finish()
    }
}

impl Default for ApiDocs {
    /// No service documents: `/docs` still answers, with an empty reference.
    fn default() -> Self {
        Self::merge(std::iter::empty())
    }
}

impl ApiDocs {
    /// Merges the services' documents into the one the gateway publishes.
    ///
    /// # Panics
    ///
    /// If two services define a schema of the same name differently: the merged document would
    /// silently describe one of them wrongly. Every deployment's startup (and the e2e tests)
    /// runs this, so a clash cannot go unnoticed. Likewise if two operations share an id
    /// (each service prefixes its own with its name, see [`platform::openapi::Common`]).
    pub fn merge(services: impl IntoIterator<Item = OpenApi>) -> Self {
        let mut doc = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("microshop")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "Every public route of microshop, as served by the gateway. Sign in \
                         with POST /auth/login and use the access token as a Bearer token \
                         (\"Authorize\"). Errors are RFC 9457 problems \
                         (`application/problem+json`): branch on their `code`.",
                    ))
                    .build(),
            )
            .build();
        for service in services {
            check_schemas(&doc, &service);
            doc.merge(service);
        }
        doc.paths.paths.retain(|path, _| published(path));
        for item in doc.paths.paths.values_mut() {
            for operation in operations(item) {
                if is_internal(operation.as_ref()) {
                    *operation = None;
                }
            }
        }
        doc.paths
            .paths
            .retain(|_, item| operations(item).into_iter().any(|op| op.is_some()));
        if let Some(components) = &mut doc.components {
            components.security_schemes.remove(INTERNAL_TOKEN);
        }
        prune_schemas(&mut doc);
        if let Some(tags) = &mut doc.tags {
            tags.retain(|tag| tag.name != INTERNAL_TAG);
        }
        for (_, alias, path) in ALIASES {
            if doc.paths.paths.contains_key(*path) {
                platform::openapi::alias(&mut doc, path, alias, "short");
            }
        }
        for item in doc.paths.paths.values_mut() {
            for operation in operations(item).into_iter().flatten() {
                add_gateway_answers(operation);
            }
        }
        platform::openapi::assert_unique_operation_ids(&doc, "gateway");
        Self { doc }
    }

    /// The merged document.
    pub fn openapi(&self) -> &OpenApi {
        &self.doc
    }
}

/// `/docs` (the UI, which redirects to `/docs/`) and `/docs/openapi.json`.
pub(crate) fn router(docs: &ApiDocs) -> Router {
    let ui = SwaggerUi::new(DOCS_PATH)
        .url(DOCS_JSON_PATH, docs.doc.clone())
        // The default badge asks validator.swagger.io about the document: no outside requests.
        .config(UiConfig::default().validator_url("none"));
    Router::from(ui).layer(axum::middleware::map_response(with_policy))
}

async fn with_policy(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Whether a client reaches `path` through the gateway.
fn published(path: &str) -> bool {
    WELL_KNOWN.contains(&path)
        || ROUTES.iter().any(|route| {
            path == route.prefix
                || path
                    .strip_prefix(route.prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

fn is_internal(operation: Option<&Operation>) -> bool {
    operation
        .and_then(|operation| operation.tags.as_ref())
        .is_some_and(|tags| tags.iter().any(|tag| tag == INTERNAL_TAG))
}

fn operations(item: &mut PathItem) -> [&mut Option<Operation>; 5] {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
}

fn add_gateway_answers(operation: &mut Operation) {
    for (status, description) in GATEWAY_ANSWERS {
        operation
            .responses
            .responses
            .entry((*status).to_owned())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(
                            platform::problem::PROBLEM_JSON,
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build(),
                )
            });
    }
}

/// Drops the schemas no published operation uses (internal requests and answers).
fn prune_schemas(doc: &mut OpenApi) {
    let mut used = BTreeSet::new();
    collect_refs(
        &serde_json::to_value(&doc.paths).unwrap_or_default(),
        &mut used,
    );
    let Some(components) = &mut doc.components else {
        return;
    };
    let mut pending: Vec<String> = used.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        if let Some(schema) = components.schemas.get(&name) {
            let mut found = BTreeSet::new();
            collect_refs(
                &serde_json::to_value(schema).unwrap_or_default(),
                &mut found,
            );
            pending.extend(found.into_iter().filter(|name| used.insert(name.clone())));
        }
    }
    components.schemas.retain(|name, _| used.contains(name));
}

/// The schema names of every `$ref` below `value`.
fn collect_refs(value: &serde_json::Value, found: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            found.insert(name.to_owned());
                        }
                    }
                    _ => collect_refs(value, found),
                }
            }
        }
        serde_json::Value::Array(values) => {
            for value in values {
                collect_refs(value, found);
            }
        }
        _ => {}
    }
}

/// Panics when `next` defines a schema `doc` already has, differently.
fn check_schemas(doc: &OpenApi, next: &OpenApi) {
    let (Some(have), Some(new)) = (&doc.components, &next.components) else {
        return;
    };
    let clashes: BTreeMap<&String, _> = new
        .schemas
        .iter()
        .filter(|(name, schema)| {
            have.schemas.get(*name).is_some_and(|existing| {
                serde_json::to_value(existing).ok() != serde_json::to_value(schema).ok()
            })
        })
        .collect();
    assert!(
        clashes.is_empty(),
        "schemas defined differently by two services: {:?}",
        clashes.keys().collect::<Vec<_>>()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_routed_prefixes_are_published() {
        assert!(published("/orders"));
        assert!(published("/orders/{id}"));
        assert!(WELL_KNOWN.iter().all(|path| published(path)));
        assert!(!published("/ordersx"));
        assert!(!published("/internal/users/{id}"));
        assert!(!published("/health/breakers"));
    }
}
