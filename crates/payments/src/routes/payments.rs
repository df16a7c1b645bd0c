//! Payments, for orders: `POST /payments` (charge), `GET /payments/{id}`,
//! `POST /payments/{id}/refund`.
//!
//! A charge carries a required `Idempotency-Key`: the first call with a key decides and stores
//! the payment (201); every later call with that key and the same body answers that first
//! decision again (200) without charging, even if a refund happened since (`GET` shows the
//! current status); the key with another body is refused (422), since it would otherwise hide a
//! different charge.

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{StatusCode, header};
use platform::Json;
use platform::auth::InternalCaller;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Charge, IdempotencyKey, KEY_RULES};
use crate::error::PaymentsError;
use crate::state::AppState;
use crate::storage::{Payment, Recorded};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/payments", post(charge))
        .route("/payments/{id}", get(show))
        .route("/payments/{id}/refund", post(refund))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            through_the_bank,
        ))
}

/// Every payment call meets the bank's chaos (latency, outage), but only once the caller has
/// proven it is a service: outsiders get the same 404 whatever the bank's state.
async fn through_the_bank(
    State(state): State<AppState>,
    _caller: InternalCaller,
    request: Request,
    next: Next,
) -> Result<Response, PaymentsError> {
    state.chaos.admit(&state.shutdown).await?;
    Ok(next.run(request).await)
}

/// The `Idempotency-Key` header, parsed; a charge without one is refused before anything else.
struct KeyHeader(IdempotencyKey);

impl<S: Send + Sync> FromRequestParts<S> for KeyHeader {
    type Rejection = PaymentsError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get("idempotency-key")
            .ok_or(PaymentsError::IdempotencyKeyRequired)?;
        let text = value.to_str().unwrap_or("\u{0}");
        IdempotencyKey::parse(text, &KEY_RULES)
            .map(KeyHeader)
            .map_err(PaymentsError::InvalidIdempotencyKey)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChargeRequest {
    order_id: String,
    amount_cents: i64,
}

/// A payment as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_cents: i64,
    /// `approved`, `declined` or `refunded`.
    #[schema(value_type = String)]
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl PaymentView {
    /// The payment as it stands now.
    fn current(payment: &Payment) -> Self {
        Self::with_status(payment, payment.status.as_str())
    }

    /// The answer the charge got when it was made.
    fn first_answer(payment: &Payment) -> Self {
        Self::with_status(payment, payment.decision.as_str())
    }

    fn with_status(payment: &Payment, status: &'static str) -> Self {
        Self {
            id: payment.id,
            order_id: payment.order_id,
            amount_cents: payment.amount_cents,
            status,
            created_at: payment.created_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/payments",
    tag = "internal",
    security(("internal_token" = [])),
    params(("Idempotency-Key" = String, Header, description = "Required: the charge's key; a repeat with the same body answers the first decision")),
    request_body = ChargeRequest,
    responses(
        (status = 201, description = "The charge, decided (`approved` or `declined`)", body = PaymentView, headers(("Location" = String, description = "The payment's URL"))),
        (status = 200, description = "A repeat of a charge already decided: its first answer", body = PaymentView),
        (status = 400, description = "idempotency_key_required or invalid_idempotency_key"),
        (status = 422, description = "idempotency_key_reused: the key was used with another body; or validation_failed"),
        (status = 503, description = "payments_unavailable: the bank is down (chaos outage); retry after `Retry-After` seconds"),
    )
)]
async fn charge(
    State(state): State<AppState>,
    _caller: InternalCaller,
    KeyHeader(key): KeyHeader,
    Json(body): Json<ChargeRequest>,
) -> Result<Response, PaymentsError> {
    let charge = Charge::parse(&body.order_id, body.amount_cents)?;
    // A replay must not draw again: answer the stored decision before rolling any dice.
    if let Some(existing) = state.storage.find_by_key(&key).await? {
        return replay(&existing, &charge);
    }
    let decision = state.chaos.decide()?;
    match state.storage.record_charge(&key, &charge, decision).await? {
        Recorded::Created(payment) => {
            metrics::counter!(
                "payments_charges_total",
                "service" => "payments",
                "outcome" => decision.as_str()
            )
            .increment(1);
            tracing::info!(
                payment_id = %payment.id,
                order_id = %payment.order_id,
                amount_cents = payment.amount_cents,
                outcome = decision.as_str(),
                "charge decided"
            );
            let location = format!("/payments/{}", payment.id);
            Ok((
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(PaymentView::first_answer(&payment)),
            )
                .into_response())
        }
        // A concurrent call with the same key won the race: its decision is the answer.
        Recorded::Existing(existing) => replay(&existing, &charge),
    }
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(charge, show, refund))]
pub(super) struct Api;

fn replay(existing: &Payment, charge: &Charge) -> Result<Response, PaymentsError> {
    if !existing.is_for(charge) {
        return Err(PaymentsError::IdempotencyKeyReused);
    }
    Ok((StatusCode::OK, Json(PaymentView::first_answer(existing))).into_response())
}

/// An id in the path: anything that is not a UUID names no payment.
fn payment_id(raw: &str) -> Result<Uuid, PaymentsError> {
    Uuid::parse_str(raw).map_err(|_| PaymentsError::NotFound)
}

#[utoipa::path(
    get,
    path = "/payments/{id}",
    operation_id = "show_payment",
    tag = "internal",
    security(("internal_token" = [])),
    params(("id" = String, Path, description = "The payment's id (a UUID)")),
    responses(
        (status = 200, description = "The payment as it stands now", body = PaymentView),
        (status = 404, description = "not_found: no such payment"),
        (status = 503, description = "payments_unavailable: the bank is down (chaos outage); retry after `Retry-After` seconds"),
    )
)]
async fn show(
    State(state): State<AppState>,
    _caller: InternalCaller,
    Path(id): Path<String>,
) -> Result<Json<PaymentView>, PaymentsError> {
    let payment = state
        .storage
        .find(payment_id(&id)?)
        .await?
        .ok_or(PaymentsError::NotFound)?;
    Ok(Json(PaymentView::current(&payment)))
}

#[utoipa::path(
    post,
    path = "/payments/{id}/refund",
    tag = "internal",
    security(("internal_token" = [])),
    params(("id" = String, Path, description = "The payment's id (a UUID)")),
    responses(
        (status = 200, description = "The payment, refunded (also when it already was)", body = PaymentView),
        (status = 404, description = "not_found: no such payment"),
        (status = 409, description = "not_refundable: a declined payment (`payment_status`)"),
        (status = 503, description = "payments_unavailable: the bank is down (chaos outage); retry after `Retry-After` seconds"),
    )
)]
async fn refund(
    State(state): State<AppState>,
    _caller: InternalCaller,
    Path(id): Path<String>,
) -> Result<Json<PaymentView>, PaymentsError> {
    let payment = state.storage.refund(payment_id(&id)?).await?;
    Ok(Json(PaymentView::current(&payment)))
}
