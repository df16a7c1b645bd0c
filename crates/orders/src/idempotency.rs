//! The `Idempotency-Key` protocol of `POST /orders`: what makes a retried order safe.
//!
//! The key (per user) is claimed before any work, so of concurrent duplicates one does the work
//! and the others wait (polling) for its answer, up to the longest the first can take, then
//! answer 409 `request_in_progress`. A repeat gets the first answer again, same status and
//! body, with `Idempotent-Replayed: true`, and creates nothing. The key with a different body
//! is refused (422 `idempotency_key_reused`). A request that created no order (refused input,
//! no stock, products down) does not keep its key, so the client may retry it with the same
//! key. A claimant that died is detected by the age of its claim: before it stored an order the
//! key is taken over, after, the order as it stands is the answer.
//!
//! It lives apart from the routes so that a handler only says what the work is; the records
//! are in [`crate::storage`] (`claim_key`, `finish_key`, `release_key`).

use std::future::Future;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use platform::{AuthUser, Json};

use crate::domain::{IdempotencyKey, KEY_RULES, ValidationError};
use crate::error::OrdersError;
use crate::state::AppState;
use crate::storage::{Claim, StoredResponse, now_millis};
use crate::views::OrderView;

/// Marks an answer replayed from an `Idempotency-Key` record.
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The request's `Idempotency-Key`, if it sent one.
pub fn key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ValidationError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ValidationError::new(
            "Idempotency-Key",
            "may contain only visible ASCII characters",
        )
    })?;
    IdempotencyKey::parse(text, &KEY_RULES).map(Some)
}

/// Runs `work` once for `key`: claims the key, runs the work, records its answer and sends it;
/// a repeat with the same `fingerprint` gets the recorded answer (`Idempotent-Replayed:
/// true`), waits for it while the first is still being served, or takes the key over from a
/// claimant that died. A different `fingerprint` is 422 `idempotency_key_reused`.
pub async fn once<F, Fut>(
    state: &AppState,
    user: &AuthUser,
    key: &IdempotencyKey,
    fingerprint: &str,
    work: F,
) -> Result<Response, OrdersError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Response>,
{
    let deadline = tokio::time::Instant::now() + state.settings.idempotency_wait;
    let mut pause = Duration::from_millis(10);
    loop {
        let record = match state
            .storage
            .claim_key(user.id, key.as_str(), fingerprint)
            .await?
        {
            Claim::Claimed => break,
            Claim::Existing(record) => record,
        };
        if record.request != fingerprint {
            return Err(OrdersError::IdempotencyKeyReused);
        }
        if let Some(response) = record.response {
            return Ok(restore(response, true));
        }
        let age = u64::try_from(now_millis().saturating_sub(record.claimed_at)).unwrap_or(0);
        if Duration::from_millis(age) > state.settings.stale_claim {
            match record.order_id {
                // The claimant died before storing anything: take the key over.
                None => {
                    state
                        .storage
                        .release_key(user.id, key.as_str(), Some(record.claimed_at))
                        .await?;
                    continue;
                }
                // It died after storing the order: the order, as it stands, is the answer.
                Some(order_id) => {
                    let order = state
                        .storage
                        .find_order(order_id)
                        .await?
                        .ok_or(OrdersError::NotFound)?;
                    return Ok((StatusCode::OK, Json(OrderView::from(&order))).into_response());
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(OrdersError::RequestInProgress);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }

    let stored = capture(work().await).await;
    if let Err(error) = state
        .storage
        .finish_key(user.id, key.as_str(), &stored)
        .await
    {
        // The answer still goes out; repeats wait, then get the order once the claim is stale.
        tracing::error!(error = %error, "cannot record the answer of an idempotent request");
    }
    Ok(restore(stored, false))
}

/// The headers a replay must repeat.
const RECORDED_HEADERS: [HeaderName; 3] =
    [header::CONTENT_TYPE, header::LOCATION, header::RETRY_AFTER];

/// Reads a response into its recordable form.
async fn capture(response: Response) -> StoredResponse {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let headers = RECORDED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    StoredResponse {
        status: parts.status.as_u16(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A recorded response, sent again.
fn restore(stored: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    if replayed {
        headers.insert(
            IDEMPOTENT_REPLAYED.clone(),
            HeaderValue::from_static("true"),
        );
    }
    response
}
