//! Orders: `GET/POST /orders`, `GET/PATCH/DELETE /orders/{id}`, `POST /orders/{id}/payment`.
//!
//! A customer sees and changes only their own orders; another user's order answers 404, as if
//! it did not exist. Admins see all and alone may set a status.
//!
//! `POST /orders` with an `Idempotency-Key` (per user) is safe to retry; the protocol (claim,
//! wait, replay, conflict) is [`crate::idempotency`]'s, so the handler only says what the work
//! is.

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, header};
use platform::{AuthUser, Json, Problem};
use serde::Deserialize;
use serde::de::IgnoredAny;
use uuid::Uuid;

use crate::domain::{
    NewOrder, NewOrderLine, Order, OrderStatus, Page, ShippingAddress, ValidationError,
};
use crate::error::OrdersError;
use crate::events::reason;
use crate::idempotency;
use crate::saga::{self, PaymentOutcome};
use crate::state::AppState;
use crate::views::{OrderView, OrdersPage};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list).post(create))
        .route("/orders/{id}", get(show).patch(update).delete(cancel))
        .route("/orders/{id}/payment", post(pay))
}

/// `POST /orders`. The seed's `adresse_livraison` is accepted for `shipping_address`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateOrderRequest {
    items: Option<Vec<LineRequest>>,
    #[serde(alias = "adresse_livraison")]
    shipping_address: Option<String>,
    /// A client-sent total is ignored: the total comes from products' prices.
    #[serde(alias = "prix_total")]
    #[allow(dead_code)]
    #[schema(value_type = Option<serde_json::Value>)]
    total_cents: Option<IgnoredAny>,
}

/// One requested line. A client echoing what the catalogue showed (name, prices) is not refused,
/// but none of it is read: prices come from products, never from the client.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LineRequest {
    product_id: Option<i64>,
    quantity: Option<i64>,
    #[schema(value_type = Option<serde_json::Value>)]
    name: Option<IgnoredAny>,
    #[schema(value_type = Option<serde_json::Value>)]
    unit_price_cents: Option<IgnoredAny>,
    #[schema(value_type = Option<serde_json::Value>)]
    price_cents: Option<IgnoredAny>,
    #[serde(alias = "prix")]
    #[schema(value_type = Option<serde_json::Value>)]
    price: Option<IgnoredAny>,
    #[schema(value_type = Option<serde_json::Value>)]
    line_total_cents: Option<IgnoredAny>,
    #[schema(value_type = Option<serde_json::Value>)]
    total_price: Option<IgnoredAny>,
}

impl TryFrom<CreateOrderRequest> for NewOrder {
    type Error = ValidationError;

    fn try_from(body: CreateOrderRequest) -> Result<Self, Self::Error> {
        let items = body
            .items
            .ok_or_else(|| ValidationError::new("items", "is required"))?;
        let lines = items
            .into_iter()
            .enumerate()
            .map(|(index, line)| NewOrderLine::parse(index, line.product_id, line.quantity))
            .collect::<Result<Vec<_>, _>>()?;
        let shipping_address = body
            .shipping_address
            .map(ShippingAddress::parse)
            .transpose()?;
        NewOrder::new(lines, shipping_address)
    }
}

/// `PATCH /orders/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    status: String,
}

/// The raw paging parameters; [`Page::parse`] checks them so errors name the parameter.
#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<String>,
    offset: Option<String>,
}

#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry: a repeat gets the first answer with `Idempotent-Replayed: true`")),
    request_body(content = CreateOrderRequest, description = "`items` is required; prices come from the catalogue, never from the client"),
    responses(
        (status = 201, description = "The order, placed, stock reserved and paid", body = OrderView, headers(("Location" = String, description = "The new order's URL"))),
        (status = 200, description = "An idempotent repeat whose first answer was the order as it stands", body = OrderView),
        (status = 402, description = "payment_declined: the bank declined; the order (in `order`, `order_id`) is `payment_failed` and its stock released"),
        (status = 503, description = "payment_unavailable: the bank cannot be reached; the order (in `order`) awaits payment, retry with POST /orders/{id}/payment after `Retry-After`; or service_unavailable: products cannot be reached"),
        (status = 409, description = "insufficient_stock (`product_id`); or request_in_progress: the same Idempotency-Key is still being served"),
        (status = 422, description = "validation_failed, unknown_product (`product_id`) or idempotency_key_reused: the key was used with another body"),
    )
)]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    Json(body): Json<CreateOrderRequest>,
) -> Result<Response, OrdersError> {
    let request = NewOrder::try_from(body)?;
    let Some(key) = idempotency::key(&headers)? else {
        let outcome = saga::place(&state, &user, &request, None).await?;
        return Ok(outcome_response(outcome, StatusCode::CREATED));
    };
    idempotency::once(&state, &user, &key, &request.fingerprint(), || async {
        match saga::place(&state, &user, &request, Some(&key)).await {
            Ok(outcome) => outcome_response(outcome, StatusCode::CREATED),
            Err(error) => error.into_response(),
        }
    })
    .await
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, show, update, cancel, pay))]
pub(super) struct Api;

/// The answer to a charge: the order on success (`paid_status`: 201 when the request created
/// it, 200 for a retry); a problem carrying the order otherwise.
fn outcome_response(outcome: PaymentOutcome, paid_status: StatusCode) -> Response {
    match outcome {
        PaymentOutcome::Paid(order) => {
            let view = Json(OrderView::from(&order));
            if paid_status == StatusCode::CREATED {
                let location = format!("/orders/{}", order.id);
                (paid_status, [(header::LOCATION, location)], view).into_response()
            } else {
                (paid_status, view).into_response()
            }
        }
        PaymentOutcome::Declined(order) => Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            "Payment declined",
        )
        .detail("The bank declined the payment; the order was not paid and its stock was released")
        .with("order_id", order.id)
        .with("order", OrderView::from(&order))
        .into_response(),
        PaymentOutcome::Unavailable { order, retry_after } => Problem::service_unavailable(
            "payment_unavailable",
            "The bank cannot be reached right now; the order awaits payment: retry with \
                 POST /orders/{id}/payment",
        )
        .with("order_id", order.id)
        .with("order", OrderView::from(&order))
        .retry_after(crate::upstream::retry_after_secs(retry_after))
        .into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/orders",
    tag = "orders",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "Page size"),
        ("offset" = Option<i64>, Query, description = "Orders to skip"),
    ),
    responses(
        (status = 200, description = "The caller's orders (every order for an admin), one page", body = OrdersPage),
        (status = 400, description = "malformed_query: the query string cannot be read"),
        (status = 422, description = "validation_failed: a paging value is invalid"),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<OrdersPage>, OrdersError> {
    let Query(query) = query
        .map_err(|rejection| Problem::bad_request("malformed_query", rejection.body_text()))?;
    let page = Page::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let owner = (!user.is_admin()).then_some(user.id);
    let found = state
        .storage
        .list_orders(owner, page.limit(), page.offset())
        .await?;
    Ok(Json(OrdersPage {
        items: found.orders.iter().map(OrderView::from).collect(),
        total: found.total,
        limit: page.limit(),
        offset: page.offset(),
    }))
}

/// The order at `id` if `user` may see it; 404 alike for a missing order, another user's order
/// and an id that is not an order id, so ids cannot be probed.
async fn visible_order(
    state: &AppState,
    user: &AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<Order, OrdersError> {
    let Path(id) = id.map_err(|_| OrdersError::NotFound)?;
    let id = Uuid::parse_str(&id).map_err(|_| OrdersError::NotFound)?;
    match state.storage.find_order(id).await? {
        Some(order) if user.can_access(order.user_id) => Ok(order),
        _ => Err(OrdersError::NotFound),
    }
}

#[utoipa::path(
    get,
    path = "/orders/{id}",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The order with its lines", body = OrderView),
        (status = 404, description = "not_found: no such order, or another user's"),
    )
)]
async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<OrderView>, OrdersError> {
    let order = visible_order(&state, &user, id).await?;
    Ok(Json(OrderView::from(&order)))
}

/// Admin only (403 for a customer, before the body is even read).
#[utoipa::path(
    patch,
    path = "/orders/{id}",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order's id (a UUID)")),
    request_body(content = UpdateRequest, description = "The new status: awaiting_payment, paid, payment_failed, cancelled, shipped or delivered"),
    responses(
        (status = 200, description = "The order, in its new status", body = OrderView),
        (status = 403, description = "forbidden: only admins set a status"),
        (status = 404, description = "not_found: no such order, or another user's"),
        (status = 409, description = "illegal_transition: the order cannot go from its status to that one (`order_status`)"),
    )
)]
async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<UpdateRequest>, Problem>,
) -> Result<Json<OrderView>, OrdersError> {
    user.require_admin()?;
    let Json(body) = body?;
    let target = OrderStatus::parse(&body.status).ok_or_else(|| {
        ValidationError::new(
            "status",
            "must be one of awaiting_payment, paid, payment_failed, cancelled, shipped, delivered",
        )
    })?;
    let order = visible_order(&state, &user, id).await?;
    let order = saga::set_status(&state, order, target).await?;
    Ok(Json(OrderView::from(&order)))
}

/// Cancels: 204, also for an order already cancelled (a retried DELETE is harmless).
#[utoipa::path(
    delete,
    path = "/orders/{id}",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 204, description = "The order is cancelled (also when it already was)"),
        (status = 404, description = "not_found: no such order, or another user's"),
        (status = 409, description = "illegal_transition: the order can no longer be cancelled (`order_status`)"),
    )
)]
async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, OrdersError> {
    let order = visible_order(&state, &user, id).await?;
    let why = if order.user_id == user.id {
        reason::CANCELLED_BY_CUSTOMER
    } else {
        reason::CANCELLED_BY_ADMIN
    };
    saga::cancel(&state, order, why).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Retries the charge of an order awaiting payment (owner or admin).
#[utoipa::path(
    post,
    path = "/orders/{id}/payment",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The order, paid", body = OrderView),
        (status = 404, description = "not_found: no such order, or another user's"),
        (status = 402, description = "payment_declined: the bank declined; the order (in `order`, `order_id`) is `payment_failed` and its stock released"),
        (status = 503, description = "payment_unavailable: the bank cannot be reached; the order (in `order`) awaits payment, retry with POST /orders/{id}/payment after `Retry-After`; or service_unavailable: products cannot be reached"),
        (status = 409, description = "not_awaiting_payment: the order is not awaiting payment (`order_status`)"),
    )
)]
async fn pay(
    State(state): State<AppState>,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, OrdersError> {
    let order = visible_order(&state, &user, id).await?;
    let outcome = saga::retry_payment(&state, order).await?;
    Ok(outcome_response(outcome, StatusCode::OK))
}
