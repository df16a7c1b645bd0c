//! The internal reservation API orders calls (`docs/service-contracts.md`):
//! `POST /internal/reservations`, `POST /internal/reservations/{order_id}/confirm` and
//! `POST /internal/reservations/{order_id}/release`.
//!
//! Only calls carrying the internal token get an answer; anyone else gets the 404 of a route
//! that does not exist. Every operation is idempotent per order id, so orders may retry any of
//! them after a timeout without reserving, confirming or restoring stock twice.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::post;
use http::StatusCode;
use platform::Json;
use platform::auth::InternalCaller;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{OrderId, ReservationRequest, ReservationStatus};
use crate::error::ProductsError;
use crate::state::AppState;
use crate::storage::{Reservation, Reserved, ReservedLine};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/internal/reservations", post(reserve))
        .route("/internal/reservations/{order_id}/confirm", post(confirm))
        .route("/internal/reservations/{order_id}/release", post(release))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReserveBody {
    order_id: Uuid,
    items: Vec<LineBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LineBody {
    product_id: i64,
    quantity: i64,
}

/// A reservation as orders sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ReservationView {
    pub order_id: Uuid,
    /// `reserved`, `confirmed` or `released`.
    pub status: String,
    pub lines: Vec<ReservationLineView>,
}

/// One reserved line, with the name and unit price captured when it was reserved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ReservationLineView {
    pub product_id: i64,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
}

/// The answer to confirm and release.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct StatusView {
    pub order_id: Uuid,
    pub status: String,
}

impl From<Reservation> for ReservationView {
    fn from(reservation: Reservation) -> Self {
        Self {
            order_id: reservation.order_id.uuid(),
            status: reservation.status.as_str().to_owned(),
            lines: reservation
                .lines
                .into_iter()
                .map(ReservationLineView::from)
                .collect(),
        }
    }
}

impl From<ReservedLine> for ReservationLineView {
    fn from(line: ReservedLine) -> Self {
        Self {
            product_id: line.product_id,
            name: line.name,
            unit_price_cents: line.unit_price_cents,
            quantity: line.quantity,
        }
    }
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(reserve, confirm, release))]
pub(super) struct Api;

/// The order id of a path; one that is not a UUID has no reservation.
fn order_id(path: Result<Path<String>, PathRejection>) -> Result<OrderId, ProductsError> {
    let Path(text) = path.map_err(|_| ProductsError::ReservationNotFound)?;
    OrderId::parse(&text).ok_or(ProductsError::ReservationNotFound)
}

/// 201 with the new reservation, or 200 with the stored one for a repeated order id (whatever
/// the repeat's lines, and even if it was released since).
#[utoipa::path(
    post,
    path = "/internal/reservations",
    tag = "internal",
    security(("internal_token" = [])),
    request_body = ReserveBody,
    responses(
        (status = 201, description = "The stock, reserved for the order", body = ReservationView),
        (status = 200, description = "The order already has this reservation (a retry)", body = ReservationView),
        (status = 409, description = "insufficient_stock: a line asks for more than is in stock (`product_id`, `requested`, `available`)"),
        (status = 422, description = "unknown_product (`product_id`) or validation_failed"),
    )
)]
async fn reserve(
    _caller: InternalCaller,
    State(state): State<AppState>,
    Json(body): Json<ReserveBody>,
) -> Result<impl IntoResponse, ProductsError> {
    let items: Vec<(i64, i64)> = body
        .items
        .iter()
        .map(|line| (line.product_id, line.quantity))
        .collect();
    let request = ReservationRequest::parse(body.order_id, &items)?;
    let (status, reservation) = match state.storage.reserve(&request).await? {
        Reserved::New(reservation) => (StatusCode::CREATED, reservation),
        Reserved::Existing(reservation) => (StatusCode::OK, reservation),
    };
    Ok((status, Json(ReservationView::from(reservation))))
}

#[utoipa::path(
    post,
    path = "/internal/reservations/{order_id}/confirm",
    tag = "internal",
    security(("internal_token" = [])),
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The reservation is confirmed (also when it already was)", body = StatusView),
        (status = 404, description = "not_found: the order has no reservation"),
        (status = 409, description = "reservation_released: the reservation was released, its stock is gone back"),
    )
)]
async fn confirm(
    _caller: InternalCaller,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<StatusView>, ProductsError> {
    let order_id = order_id(path)?;
    state.storage.confirm(order_id).await?;
    Ok(Json(StatusView {
        order_id: order_id.uuid(),
        status: ReservationStatus::Confirmed.as_str().to_owned(),
    }))
}

/// Always ends `released`; stock comes back only the first time.
#[utoipa::path(
    post,
    path = "/internal/reservations/{order_id}/release",
    tag = "internal",
    security(("internal_token" = [])),
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The reservation is released (stock comes back the first time only)", body = StatusView),
        (status = 404, description = "not_found: the order has no reservation"),
    )
)]
async fn release(
    _caller: InternalCaller,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<StatusView>, ProductsError> {
    let order_id = order_id(path)?;
    if state.storage.release(order_id).await? {
        tracing::debug!(order_id = %order_id.uuid(), "released reserved stock");
    }
    Ok(Json(StatusView {
        order_id: order_id.uuid(),
        status: ReservationStatus::Released.as_str().to_owned(),
    }))
}
