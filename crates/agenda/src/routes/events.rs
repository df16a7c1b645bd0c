//! The agenda: `GET /events` and `GET /events/{id}` for everyone (a token adds the caller's
//! private events, or every event for an admin); `POST /events` for any signed-in user;
//! `PATCH` and `DELETE /events/{id}` for the event's organizer and admins.
//!
//! Refusals on an existing event follow what the caller can see: someone else's private event
//! answers 404 exactly like an unknown id (its existence stays secret), while a public event,
//! which anyone can list anyway, answers 403 to a caller who is neither its organizer nor an
//! admin. Without a token, `PATCH` and `DELETE` answer 401; with a bad one, every route does.
//!
//! `DELETE` cancels the event: it is removed (later reads answer 404) and `event.cancelled`
//! announces it with its last state.

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use http::{StatusCode, header};
use platform::{AuthUser, Json, Problem};
use serde::Deserialize;

use crate::domain::{
    Description, EventChanges, EventId, EventQuery, Location, NewEvent, Schedule, Timestamp, Title,
    ValidationError, Viewer, Visibility,
};
use crate::error::AgendaError;
use crate::state::AppState;
use crate::views::{EventList, EventView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list).post(create))
        .route("/events/{id}", get(show).patch(update).delete(cancel))
}

/// `?limit=&offset=&from=&to=&q=`, as text: parsed by the domain, so a bad value is a 422
/// naming it.
#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<String>,
    offset: Option<String>,
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
}

impl TryFrom<ListParams> for EventQuery {
    type Error = ValidationError;

    fn try_from(params: ListParams) -> Result<Self, Self::Error> {
        EventQuery::parse(
            params.limit.as_deref(),
            params.offset.as_deref(),
            params.from.as_deref(),
            params.to.as_deref(),
            params.q.as_deref(),
        )
    }
}

/// The body of `POST` (title and both times required) and `PATCH` (everything optional).
///
/// `null` means "not given" for every field; send `""` to clear a description or a location.
/// Times are RFC 3339 text (`2026-12-03T18:00:00Z`, any offset).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EventBody {
    title: Option<String>,
    description: Option<String>,
    location: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    visibility: Option<String>,
}

impl TryFrom<EventBody> for EventChanges {
    type Error = ValidationError;

    fn try_from(body: EventBody) -> Result<Self, Self::Error> {
        let changes = EventChanges {
            title: body.title.as_deref().map(Title::parse).transpose()?,
            description: body
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?,
            location: body.location.as_deref().map(Location::parse).transpose()?,
            starts_at: body
                .starts_at
                .as_deref()
                .map(|text| Timestamp::parse(text, "starts_at"))
                .transpose()?,
            ends_at: body
                .ends_at
                .as_deref()
                .map(|text| Timestamp::parse(text, "ends_at"))
                .transpose()?,
            visibility: body
                .visibility
                .as_deref()
                .map(Visibility::parse)
                .transpose()?,
        };
        if let (Some(starts_at), Some(ends_at)) = (changes.starts_at, changes.ends_at) {
            Schedule::new(starts_at, ends_at)?;
        }
        Ok(changes)
    }
}

impl TryFrom<EventBody> for NewEvent {
    type Error = ValidationError;

    fn try_from(body: EventBody) -> Result<Self, Self::Error> {
        let changes = EventChanges::try_from(body)?;
        let required = |field: &str| ValidationError::new(field, "is required");
        let title = changes.title.ok_or_else(|| required("title"))?;
        let starts_at = changes.starts_at.ok_or_else(|| required("starts_at"))?;
        let ends_at = changes.ends_at.ok_or_else(|| required("ends_at"))?;
        Ok(NewEvent {
            title,
            description: changes.description.unwrap_or_default(),
            location: changes.location.unwrap_or_default(),
            schedule: Schedule::new(starts_at, ends_at)?,
            visibility: changes.visibility.unwrap_or_default(),
        })
    }
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, show, create, update, cancel))]
pub(super) struct Api;

/// The caller as the agenda's rules see them.
fn viewer(user: Option<&AuthUser>) -> Viewer {
    user.map_or(Viewer::Anonymous, |user| {
        Viewer::user(user.id, user.is_admin())
    })
}

/// An event id from the path; anything that is not a UUID matches nothing (404).
fn event_id(path: Result<Path<String>, PathRejection>) -> Result<EventId, AgendaError> {
    let Path(text) = path.map_err(|_| AgendaError::NotFound)?;
    EventId::parse_path(&text).ok_or(AgendaError::NotFound)
}

#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    security((), ("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "Page size"),
        ("offset" = Option<i64>, Query, description = "Events to skip"),
        ("from" = Option<String>, Query, description = "Only events starting at or after this RFC 3339 time (default: those not yet ended)"),
        ("to" = Option<String>, Query, description = "Only events starting before this RFC 3339 time"),
        ("q" = Option<String>, Query, description = "Case-insensitive text to find in titles and descriptions"),
    ),
    responses(
        (status = 200, description = "The events the caller may see (public ones without a token), one page", body = EventList),
        (status = 400, description = "invalid_query: the query string cannot be read"),
        (status = 422, description = "validation_failed: a filter or paging value is invalid"),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: Option<AuthUser>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<EventList>, AgendaError> {
    let Query(params) =
        params.map_err(|rejection| Problem::bad_request("invalid_query", rejection.body_text()))?;
    let query = EventQuery::try_from(params)?;
    let (events, total) = state
        .storage
        .list(viewer(user.as_ref()), &query, Timestamp::now())
        .await?;
    Ok(Json(EventList {
        items: events.iter().map(EventView::from).collect(),
        total,
        limit: query.page.limit(),
        offset: query.page.offset(),
    }))
}

#[utoipa::path(
    get,
    path = "/events/{id}",
    tag = "events",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The event's id (a UUID)")),
    responses(
        (status = 200, description = "The event", body = EventView),
        (status = 404, description = "not_found: no such event, or a private event the caller may not see"),
    )
)]
async fn show(
    State(state): State<AppState>,
    user: Option<AuthUser>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<EventView>, AgendaError> {
    let id = event_id(path)?;
    let event = state
        .storage
        .find(id)
        .await?
        .filter(|event| viewer(user.as_ref()).can_see(event.organizer_id, event.visibility))
        .ok_or(AgendaError::NotFound)?;
    Ok(Json(EventView::from(&event)))
}

#[utoipa::path(
    post,
    path = "/events",
    tag = "events",
    security(("bearer" = [])),
    request_body(content = EventBody, description = "`title`, `starts_at` and `ends_at` are required"),
    responses(
        (status = 201, description = "The event, organized by the caller", body = EventView, headers(("Location" = String, description = "The new event's URL"))),
    )
)]
async fn create(
    user: AuthUser,
    State(state): State<AppState>,
    Json(body): Json<EventBody>,
) -> Result<impl IntoResponse, AgendaError> {
    let new = NewEvent::try_from(body)?;
    let event = state.storage.create(&new, user.id, &user.username).await?;
    state.relay.wake();
    let location = format!("/events/{}", event.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(EventView::from(&event)),
    ))
}

#[utoipa::path(
    patch,
    path = "/events/{id}",
    tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id (a UUID)")),
    request_body(content = EventBody, description = "Only the fields sent change"),
    responses(
        (status = 200, description = "The event, changed", body = EventView),
        (status = 403, description = "forbidden: a public event the caller does not organize"),
        (status = 404, description = "not_found: no such event, or a private event the caller may not see"),
    )
)]
async fn update(
    user: AuthUser,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Json(body): Json<EventBody>,
) -> Result<Json<EventView>, AgendaError> {
    let id = event_id(path)?;
    let changes = EventChanges::try_from(body)?;
    let event = state
        .storage
        .update(id, &changes, viewer(Some(&user)), &user.username)
        .await?;
    if !changes.is_empty() {
        state.relay.wake();
    }
    Ok(Json(EventView::from(&event)))
}

#[utoipa::path(
    delete,
    path = "/events/{id}",
    tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id (a UUID)")),
    responses(
        (status = 204, description = "The event is cancelled and removed"),
        (status = 403, description = "forbidden: a public event the caller does not organize"),
        (status = 404, description = "not_found: no such event, or a private event the caller may not see"),
    )
)]
async fn cancel(
    user: AuthUser,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, AgendaError> {
    let id = event_id(path)?;
    state
        .storage
        .cancel(id, viewer(Some(&user)), &user.username)
        .await?;
    state.relay.wake();
    Ok(StatusCode::NO_CONTENT)
}
