//! A user's notifications: `GET /notifications` (the inbox, newest first, paginated),
//! `GET /notifications/stream` (Server-Sent Events of new ones) and
//! `POST /notifications/{id}/read`.
//!
//! The inbox is personal: everyone, admins included, sees only their own notifications, and
//! another user's notification id answers 404 like an unknown one.

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderName, HeaderValue};
use platform::{AuthUser, Json, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::domain::{Notification, PAGING, Page, ValidationError};
use crate::error::NotifierError;
use crate::feed::{Feed, Item};
use crate::state::AppState;

/// The SSE event name of a notification (`addEventListener("notification", …)`).
pub const NOTIFICATION_EVENT: &str = "notification";
/// The SSE event name telling a client it missed notifications and should reload its inbox.
pub const LAGGED_EVENT: &str = "lagged";

/// The SSE event name of the last event of a stream whose access token expired.
pub const EXPIRED_EVENT: &str = "expired";

/// Header the browser's `EventSource` sends on reconnect, with the last `id:` it received.
static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/stream", get(stream))
        .route("/notifications/{id}/read", post(mark_read))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<String>,
    offset: Option<String>,
}

/// One page of the caller's inbox.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InboxView {
    items: Vec<Notification>,
    /// Notifications in the whole inbox.
    total: i64,
    limit: u32,
    offset: u32,
}

#[utoipa::path(
    get,
    path = "/notifications",
    tag = "notifications",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "Page size"),
        ("offset" = Option<i64>, Query, description = "Notifications to skip"),
    ),
    responses(
        (status = 200, description = "The caller's inbox, newest first, one page", body = InboxView),
        (status = 400, description = "invalid_query: the query string cannot be read"),
        (status = 422, description = "validation_failed: a paging value is invalid"),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<InboxView>, NotifierError> {
    let Query(query) = query.map_err(bad_query)?;
    let page = Page::parse_with(query.limit.as_deref(), query.offset.as_deref(), &PAGING)?;
    let inbox = state.storage.inbox(user.id, page).await?;
    Ok(Json(InboxView {
        items: inbox.items,
        total: inbox.total,
        // Both are bounded by `PAGING` (at most 100 and 1 000 000).
        limit: u32::try_from(page.limit()).unwrap_or(u32::MAX),
        offset: u32::try_from(page.offset()).unwrap_or(u32::MAX),
    }))
}

#[derive(Debug, Deserialize)]
struct StreamQuery {
    since: Option<String>,
}

#[utoipa::path(
    get,
    path = "/notifications/stream",
    tag = "notifications",
    security(("bearer" = [])),
    params(
        ("since" = Option<String>, Query, description = "Replay the notifications after this id first"),
        ("Last-Event-ID" = Option<String>, Header, description = "Sent by a reconnecting EventSource; wins over `since`"),
    ),
    responses(
        (status = 200, description = "Server-Sent Events: `notification` events (data: a Notification, id: its id), `lagged` ones (data: `{missed, detail}`) telling the client to reload its inbox, and at the token's expiry one `expired` event, after which the stream ends (reconnect with a fresh token and `Last-Event-ID`)", content_type = "text/event-stream", body = String),
        (status = 400, description = "invalid_query: the query string cannot be read"),
        (status = 422, description = "validation_failed: `since` is not a notification id"),
        (status = 429, description = "too_many_streams: the caller already has its maximum of streams open"),
        (status = 503, description = "streams_unavailable: this instance holds its maximum of streams"),
    )
)]
async fn stream(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<impl IntoResponse, NotifierError> {
    let Query(query) = query.map_err(bad_query)?;
    let since = resume_point(&headers, query.since.as_deref())?;
    // A token past its expiry is still accepted for a few seconds (leeway for clock skew), but
    // a stream it opened would end at once, and the client would reconnect with the same token
    // in a loop: refuse it like an expired token, so the client renews it first.
    if until_expiry(user.expires_at).is_zero() {
        return Err(Problem::from(platform::auth::TokenError::Expired).into());
    }
    let permit = state
        .streams
        .try_open(user.id)
        .map_err(NotifierError::TooManyStreams)?;
    let feed = Feed::open(
        &state.hub,
        state.storage.clone(),
        user.id,
        since,
        state.shutdown.clone(),
    );
    // The stream is as good as the token that opened it: at its expiry (or the user's
    // deletion, which expires it in effect) the client is told, and the stream ends; the
    // client reconnects with a fresh token and `Last-Event-ID`, losing nothing.
    let expiry = Box::pin(tokio::time::sleep(until_expiry(user.expires_at)));
    let mut revocation_checks = tokio::time::interval(REVOCATION_CHECK);
    revocation_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let open = Open {
        feed,
        expiry,
        revocation_checks,
        verifier: state.verifier.clone(),
        user_id: user.id,
        expired: false,
        _permit: permit,
    };
    let events = futures::stream::unfold(open, |mut open| async move {
        if open.expired {
            return None;
        }
        // The feed's `next` is never cancelled by a revocation check (a catch-up read slower
        // than the check would otherwise start over forever).
        let step = {
            let next = open.feed.next();
            tokio::pin!(next);
            loop {
                tokio::select! {
                    item = &mut next => break Some(item),
                    () = &mut open.expiry => break None,
                    _ = open.revocation_checks.tick() => {
                        // The verifier learnt that the account was disabled: the token is dead.
                        if open.verifier.is_revoked(open.user_id) {
                            break None;
                        }
                    }
                }
            }
        };
        match step {
            Some(item) => {
                let item = item?;
                Some((sse_event(&item), open))
            }
            None => {
                open.expired = true;
                Some((expired_event(), open))
            }
        }
    });
    Ok((
        // Tells nginx-style proxies not to buffer the stream.
        [(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        )],
        Sse::new(events).keep_alive(KeepAlive::new().interval(state.keepalive)),
    ))
}

/// Where a stream resumes: the `Last-Event-ID` of a reconnecting `EventSource` wins over the
/// `since` of the URL it reconnects to (the URL's is older). A malformed `Last-Event-ID` is
/// ignored rather than refused, or the browser would retry the same refused request forever;
/// a malformed `since` is the caller's mistake and answers 422.
fn resume_point(headers: &HeaderMap, since: Option<&str>) -> Result<Option<Uuid>, NotifierError> {
    if let Some(id) = headers
        .get(&LAST_EVENT_ID)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Uuid::parse_str(value.trim()).ok())
    {
        return Ok(Some(id));
    }
    since
        .map(|since| {
            Uuid::parse_str(since.trim())
                .map_err(|_| ValidationError::new("since", "must be a notification id").into())
        })
        .transpose()
}

/// How often an open stream asks the verifier whether its user's account was disabled (the
/// verifier's own list is polled from auth, every 5 s by default).
const REVOCATION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// What an open stream holds: its feed, its token's expiry, the checks that its account is
/// still enabled, and its place in the limits.
struct Open {
    feed: Feed,
    expiry: std::pin::Pin<Box<tokio::time::Sleep>>,
    revocation_checks: tokio::time::Interval,
    verifier: std::sync::Arc<platform::Verifier>,
    user_id: Uuid,
    expired: bool,
    _permit: crate::streams::StreamPermit,
}

/// The time left until `expires_at` (unix seconds); nothing when it has passed.
fn until_expiry(expires_at: i64) -> std::time::Duration {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    std::time::Duration::from_secs(u64::try_from(expires_at - now).unwrap_or(0))
}

/// The last event of a stream whose token expired (or whose account was disabled: a
/// reconnection with that token is then refused with 401 `token_revoked`).
fn expired_event() -> Result<SseEvent, axum::Error> {
    SseEvent::default().event(EXPIRED_EVENT).json_data(json!({
        "detail": "The access token expired; reconnect with a fresh one and Last-Event-ID",
    }))
}

fn sse_event(item: &Item) -> Result<SseEvent, axum::Error> {
    match item {
        Item::Notification(notification) => SseEvent::default()
            .event(NOTIFICATION_EVENT)
            .id(notification.id.to_string())
            .json_data(notification.as_ref()),
        Item::Lagged { missed } => SseEvent::default().event(LAGGED_EVENT).json_data(json!({
            "missed": missed,
            "detail": "Some notifications could not be delivered; reload GET /notifications",
        })),
    }
}

#[utoipa::path(
    post,
    path = "/notifications/{id}/read",
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The notification's id (a UUID)")),
    responses(
        (status = 200, description = "The notification, read", body = Notification),
        (status = 404, description = "notification_not_found: no such notification in the caller's inbox"),
    )
)]
async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Notification>, NotifierError> {
    let id = id
        .ok()
        .and_then(|Path(id)| Uuid::parse_str(&id).ok())
        .ok_or(NotifierError::NotFound)?;
    state
        .storage
        .mark_read(user.id, id)
        .await?
        .map(Json)
        .ok_or(NotifierError::NotFound)
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, stream, mark_read))]
pub(super) struct Api;

fn bad_query(rejection: QueryRejection) -> NotifierError {
    Problem::bad_request("invalid_query", rejection.body_text()).into()
}
