//! What every service's OpenAPI document shares: the problem body, the two security schemes and
//! the problem answers any operation can give whatever its handler does.
//!
//! Handlers declare only the answers that are theirs (`404` for an unknown id, `409` for a
//! conflict) and leave the error responses without a body; [`Common`] gives every 4xx/5xx
//! response the [`ProblemBody`] schema as `application/problem+json`, and adds the answers the
//! shared extractors make (401 behind a token, 400/413/415/422 for a JSON body, 500 anywhere).
//! That way a new handler cannot forget them, and the problem shape is written once.
//!
//! It also prefixes every operation id with the service's name (`products_list`,
//! `payments_show_payment`): utoipa names an operation after its handler, and `list` or `show`
//! recur across services, so without the prefix the gateway's merged document would repeat
//! ids, which OpenAPI forbids. A service whose own handlers share a name sets `operation_id`
//! in one's `#[utoipa::path]`; [`assert_unique_operation_ids`] catches a repeat.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::problem::{FieldError, PROBLEM_JSON};

/// Security scheme name of a user's access token (`Authorization: Bearer <JWT>`).
pub const BEARER: &str = "bearer";
/// Security scheme name of the service-to-service token (`X-Internal-Token`).
pub const INTERNAL_TOKEN: &str = "internal_token";
/// Tag of the routes only other services reach; the gateway does not publish them.
pub const INTERNAL_TAG: &str = "internal";

/// The body of every error answer: RFC 9457 problem details with a stable `code`.
// Mirrors what `crate::Problem::body` writes; the doc comment above is the schema's description.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// `/problems/{code}`, relative to the origin that answered: a page about the code.
    #[serde(rename = "type")]
    #[schema(example = "/problems/not_found")]
    pub kind: String,
    /// A short human title; do not branch on it.
    #[schema(example = "Not found")]
    pub title: String,
    /// The HTTP status, repeated.
    #[schema(example = 404)]
    pub status: u16,
    /// The stable, snake_case reason clients branch on.
    #[schema(example = "not_found")]
    pub code: String,
    /// What went wrong this time, for humans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The offending input fields (422 `validation_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// The shared parts, as a modifier of a service's document. Run it last: it walks the
/// operations the document already has.
///
/// # Panics
///
/// If two operations of the document end up with the same id.
#[derive(Debug, Clone, Copy)]
pub struct Common {
    /// The service whose document this is: the prefix of its operation ids.
    pub service: &'static str,
}

impl Modify for Common {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /auth/login (EdDSA JWT, keys at \
                         /.well-known/jwks.json)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            INTERNAL_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Internal-Token",
                "The shared service-to-service token; without it internal routes answer 404",
            ))),
        );
        let mut schemas = vec![(ProblemBody::name().into_owned(), ProblemBody::schema())];
        <ProblemBody as ToSchema>::schemas(&mut schemas);
        components.schemas.extend(schemas);

        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                if let Some(id) = &mut operation.operation_id {
                    *id = format!("{}_{id}", self.service);
                }
                complete(operation);
            }
        }
        assert_unique_operation_ids(openapi, self.service);
    }
}

/// Checks that no two operations of `doc` (named `name` in the message) share an id, as
/// OpenAPI requires: a client generator would name two methods alike, and validators refuse
/// the document.
///
/// # Panics
///
/// If two do, naming both.
pub fn assert_unique_operation_ids(doc: &OpenApi, name: &str) {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    let mut repeats = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, operation) in [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            let Some(id) = operation.as_ref().and_then(|op| op.operation_id.as_deref()) else {
                continue;
            };
            let at = format!("{method} {path}");
            if let Some(first) = seen.get(id) {
                repeats.push(format!("`{id}` ({first} and {at})"));
            } else {
                seen.insert(id, at);
            }
        }
    }
    assert!(
        repeats.is_empty(),
        "{name}: operation ids used twice: {}; give one an `operation_id` in its \
         #[utoipa::path]",
        repeats.join(", ")
    );
}

/// Adds the shared answers an operation may give and a problem body to every error answer.
fn complete(operation: &mut Operation) {
    let schemes = security_schemes(operation);
    let mut shared: Vec<(&str, &str)> = vec![
        ("500", "internal_error: an unexpected failure"),
        (
            "503",
            "A backend this service needs cannot be reached right now (database_unavailable, \
             keys_unavailable, ...); retry after `Retry-After` seconds",
        ),
    ];
    if schemes.iter().any(|scheme| scheme == BEARER) {
        shared.push((
            "401",
            "missing_token or invalid_token: no valid access token (`WWW-Authenticate: Bearer`)",
        ));
    }
    if schemes.iter().any(|scheme| scheme == INTERNAL_TOKEN) {
        shared.push((
            "404",
            "not_found: also the answer to a caller without the internal token",
        ));
    }
    if operation.request_body.is_some() {
        shared.extend([
            ("400", "malformed_json: the body is not JSON"),
            ("413", "payload_too_large: the body is over 1 MiB"),
            (
                "415",
                "unsupported_media_type: the body is not sent as application/json",
            ),
            (
                "422",
                "validation_failed: a field is missing or invalid (`errors` names it)",
            ),
        ]);
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in shared {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(description).build()));
    }
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response
            && (status.starts_with('4') || status.starts_with('5'))
        {
            with_problem_body(response);
        }
    }
}

/// Every error answer is a problem, whatever the handler wrote (or did not write) about it.
fn with_problem_body(response: &mut Response) {
    response
        .content
        .retain(|media_type, _| media_type == PROBLEM_JSON);
    response
        .content
        .entry(PROBLEM_JSON.to_owned())
        .or_insert_with(|| {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ProblemBody::name())))
                .build()
        });
}

/// The names of the security schemes an operation accepts.
fn security_schemes(operation: &Operation) -> Vec<String> {
    let Some(requirements) = &operation.security else {
        return Vec::new();
    };
    // `SecurityRequirement` keeps its map private; its JSON form is `{"name": [scopes]}`.
    requirements
        .iter()
        .filter_map(|requirement| serde_json::to_value(requirement).ok())
        .filter_map(|value| {
            value
                .as_object()
                .map(|map| map.keys().cloned().collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

/// Publishes the operations documented at `path` under `alias` as well, for a handler routed
/// at both (`/users/me` and `/users/profile`); each copy's operation id gets `_{id_suffix}`.
///
/// # Panics
///
/// If nothing is documented at `path`: the alias would silently document nothing.
pub fn alias(doc: &mut OpenApi, path: &str, alias: &str, id_suffix: &str) {
    let mut item = doc
        .paths
        .paths
        .get(path)
        .cloned()
        .unwrap_or_else(|| panic!("no operation is documented at {path}"));
    for operation in [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
    {
        if let Some(id) = &mut operation.operation_id {
            id.push('_');
            id.push_str(id_suffix);
        }
        let note = format!("The same as `{path}`.");
        operation.description = Some(match operation.description.take() {
            Some(description) => format!("{description}\n\n{note}"),
            None => note,
        });
    }
    doc.paths.paths.insert(alias.to_owned(), item);
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    use super::*;

    fn doc(operations: &[(&str, HttpMethod, &str)]) -> OpenApi {
        let mut paths = PathsBuilder::new();
        for (path, method, id) in operations {
            let operation = OperationBuilder::new().operation_id(Some(*id)).build();
            paths = paths.path(*path, PathItem::new(method.clone(), operation));
        }
        OpenApiBuilder::new().paths(paths.build()).build()
    }

    fn ids(doc: &OpenApi) -> Vec<String> {
        doc.paths
            .paths
            .values()
            .flat_map(|item| [&item.get, &item.post])
            .flatten()
            .filter_map(|operation| operation.operation_id.clone())
            .collect()
    }

    #[test]
    fn operation_ids_are_prefixed_with_the_service() {
        let mut openapi = doc(&[
            ("/a", HttpMethod::Get, "list"),
            ("/b", HttpMethod::Post, "create"),
        ]);
        Common { service: "shop" }.modify(&mut openapi);
        assert_eq!(ids(&openapi), ["shop_list", "shop_create"]);
    }

    #[test]
    #[should_panic(expected = "`shop_show` (GET /a and GET /b)")]
    fn a_service_whose_handlers_share_a_name_is_refused() {
        let mut openapi = doc(&[
            ("/a", HttpMethod::Get, "show"),
            ("/b", HttpMethod::Get, "show"),
        ]);
        Common { service: "shop" }.modify(&mut openapi);
    }
}
