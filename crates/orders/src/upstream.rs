//! The other services as orders sees them: typed calls over [`ServiceClient`]s.
//!
//! Each upstream has its own client, so its own timeout and circuit breaker: payments down
//! never opens the breaker in front of products. The client decides what is a failure of the
//! upstream (5xx, timeout, refused connection, open breaker) and this module decides what the
//! business answers mean (`insufficient_stock`, `declined`, ...), following
//! `docs/service-contracts.md`.

use std::time::Duration;

use platform::Wiring;
use platform::client::{Call, CallError, ServiceClient};
use platform::resilience::BreakerState;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::config::Config;
use crate::domain::NewOrderLine;

/// `Retry-After` for a failed upstream whose breaker is not open: long enough for a blip to
/// pass, short enough that a person retrying by hand does not wait for nothing.
const RETRY_AFTER_DEFAULT: Duration = Duration::from_secs(5);

/// The services orders calls.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub products: Products,
    pub payments: Payments,
    pub users: Users,
}

impl Upstreams {
    pub fn new(config: &Config, wiring: &Wiring) -> Self {
        let client = |name: &'static str, url: &str, policy| {
            ServiceClient::new("orders", name, url, wiring.internal_token.clone(), policy)
        };
        Self {
            products: Products(client(
                "products",
                &wiring.urls.products,
                config.upstream_policy(),
            )),
            payments: Payments(client(
                "payments",
                &wiring.urls.payments,
                config.payments_policy(),
            )),
            users: Users(client(
                "users",
                &wiring.urls.users,
                config.upstream_policy(),
            )),
        }
    }

    /// Each upstream's breaker, for `/health/breakers`.
    pub fn breaker_states(&self) -> [(&'static str, BreakerState); 3] {
        [
            ("products", self.products.0.breaker_state()),
            ("payments", self.payments.0.breaker_state()),
            ("users", self.users.0.breaker_state()),
        ]
    }
}

/// How long a client should wait before retrying a call that failed on `client`.
fn retry_after(client: &ServiceClient) -> Duration {
    client
        .breaker()
        .open_remaining()
        .map_or(RETRY_AFTER_DEFAULT, |remaining| {
            remaining.max(Duration::from_secs(1))
        })
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// What a fire-and-retry call (confirm, release, refund) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Done, or nothing left to do.
    Done,
    /// The upstream could not be reached: try again later.
    Retry(String),
    /// The upstream refused for good (a contract breach): retrying cannot help.
    Refused(String),
}

/// Stock reservations at products.
#[derive(Debug, Clone)]
pub struct Products(ServiceClient);

/// One reserved line, priced by products.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReservedLine {
    pub product_id: i64,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
}

#[derive(Debug, Deserialize)]
struct ReservationReply {
    status: String,
    lines: Vec<ReservedLine>,
}

/// Why nothing was reserved.
#[derive(Debug)]
pub enum ReserveError {
    UnknownProduct(i64),
    InsufficientStock(i64),
    /// No answer: the reservation may or may not have been made.
    Unavailable(CallError),
    /// An answer outside the contract.
    Unexpected(String),
}

fn product_id_of(body: &[u8]) -> Option<i64> {
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    body.get("product_id")?.as_i64()
}

impl Products {
    /// Reserves every line for `order_id`, all or nothing; idempotent per order id, so the
    /// client may retry it after a connection failure.
    pub async fn reserve(
        &self,
        order_id: Uuid,
        lines: &[NewOrderLine],
    ) -> Result<Vec<ReservedLine>, ReserveError> {
        let items: Vec<_> = lines
            .iter()
            .map(|line| json!({"product_id": line.product_id.get(), "quantity": line.quantity.get()}))
            .collect();
        let call = Call::post(
            "/internal/reservations",
            json!({"order_id": order_id, "items": items}),
        )
        .idempotent();
        let reply = self.0.call(call).await.map_err(ReserveError::Unavailable)?;
        if reply.is_success() {
            let reservation: ReservationReply = reply
                .json()
                .map_err(|error| ReserveError::Unexpected(error.to_string()))?;
            if reservation.status != "reserved" {
                return Err(ReserveError::Unexpected(format!(
                    "a new reservation is {}",
                    reservation.status
                )));
            }
            return Ok(reservation.lines);
        }
        let code = reply.problem_code();
        match (reply.status.as_u16(), code.as_deref()) {
            (409, Some("insufficient_stock")) => Err(match product_id_of(&reply.body) {
                Some(product_id) => ReserveError::InsufficientStock(product_id),
                None => ReserveError::Unexpected("409 without a product_id".into()),
            }),
            (422, Some("unknown_product")) => Err(match product_id_of(&reply.body) {
                Some(product_id) => ReserveError::UnknownProduct(product_id),
                None => ReserveError::Unexpected("422 without a product_id".into()),
            }),
            (status, code) => Err(ReserveError::Unexpected(format!(
                "reserve answered {status} {code:?}"
            ))),
        }
    }

    /// Makes the order's reservation final (it was paid for).
    pub async fn confirm(&self, order_id: Uuid) -> Delivery {
        let path = format!("/internal/reservations/{order_id}/confirm");
        match self.0.call(Call::post(path, json!({})).idempotent()).await {
            Ok(reply) if reply.is_success() => Delivery::Done,
            // Released meanwhile (a cancel overtook the confirmation): nothing to confirm.
            Ok(reply) if reply.problem_code().as_deref() == Some("reservation_released") => {
                Delivery::Done
            }
            Ok(reply) => Delivery::Refused(format!("confirm answered {}", reply.status)),
            Err(error) => Delivery::Retry(error.to_string()),
        }
    }

    /// Hands the order's reserved stock back; idempotent, and harmless for an order products
    /// never reserved anything for.
    pub async fn release(&self, order_id: Uuid) -> Delivery {
        let path = format!("/internal/reservations/{order_id}/release");
        match self.0.call(Call::post(path, json!({})).idempotent()).await {
            Ok(reply) if reply.is_success() || reply.status.as_u16() == 404 => Delivery::Done,
            Ok(reply) => Delivery::Refused(format!("release answered {}", reply.status)),
            Err(error) => Delivery::Retry(error.to_string()),
        }
    }

    pub fn retry_after(&self) -> Duration {
        retry_after(&self.0)
    }
}

/// Charges and refunds at payments.
#[derive(Debug, Clone)]
pub struct Payments(ServiceClient);

/// The bank's decision on a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentDecision {
    /// The payment's id at the bank (what a refund names).
    pub payment_id: String,
    pub approved: bool,
}

#[derive(Debug, Deserialize)]
struct PaymentReply {
    id: String,
    status: String,
}

/// The charge has no known outcome: the order stays payable.
#[derive(Debug)]
pub struct PaymentsUnavailable {
    pub reason: String,
    /// What to tell the client in `Retry-After`.
    pub retry_after: Duration,
}

impl Payments {
    /// Charges `amount_cents` for `order_id` under `key`. The bank answers a repeated key with
    /// its first decision, so the client may retry after a connection failure and a later
    /// retry of the order with the same key can never charge twice.
    pub async fn charge(
        &self,
        order_id: Uuid,
        amount_cents: i64,
        key: &str,
    ) -> Result<PaymentDecision, PaymentsUnavailable> {
        let call = Call::post(
            "/payments",
            json!({"order_id": order_id, "amount_cents": amount_cents}),
        )
        .header("idempotency-key", key)
        .idempotent();
        let unavailable = |reason: String| PaymentsUnavailable {
            reason,
            retry_after: retry_after(&self.0),
        };
        let reply = self
            .0
            .call(call)
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        if !reply.is_success() {
            // Outside the contract; logged, and the order stays payable rather than failing.
            let reason = format!(
                "charge answered {} {:?}",
                reply.status,
                reply.problem_code()
            );
            tracing::error!(%order_id, %reason, "payments refused a charge");
            return Err(unavailable(reason));
        }
        let payment: PaymentReply = reply
            .json()
            .map_err(|error| unavailable(error.to_string()))?;
        match payment.status.as_str() {
            "approved" => Ok(PaymentDecision {
                payment_id: payment.id,
                approved: true,
            }),
            "declined" => Ok(PaymentDecision {
                payment_id: payment.id,
                approved: false,
            }),
            other => Err(unavailable(format!("a charge answered status {other:?}"))),
        }
    }

    /// Refunds an approved payment; idempotent at the bank.
    pub async fn refund(&self, payment_id: &str) -> Delivery {
        let path = format!("/payments/{payment_id}/refund");
        match self.0.call(Call::post(path, json!({})).idempotent()).await {
            Ok(reply) if reply.is_success() => Delivery::Done,
            Ok(reply) => Delivery::Refused(format!(
                "refund answered {} {:?}",
                reply.status,
                reply.problem_code()
            )),
            Err(error) => Delivery::Retry(error.to_string()),
        }
    }
}

/// Profiles at users, for the default shipping address.
#[derive(Debug, Clone)]
pub struct Users(ServiceClient);

#[derive(Debug, Deserialize)]
struct ProfileReply {
    #[serde(default)]
    address: Option<String>,
}

/// Why no address could be found in the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAddress {
    /// The profile has none (or there is no profile).
    NotInProfile,
    /// Users could not be asked; retry after this long.
    Unavailable(Duration),
}

impl Users {
    /// The address in `user_id`'s profile.
    pub async fn address(&self, user_id: Uuid) -> Result<String, NoAddress> {
        let reply = self
            .0
            .call(Call::get(format!("/internal/users/{user_id}")))
            .await
            .map_err(|error| {
                tracing::warn!(%user_id, %error, "cannot read the profile for a shipping address");
                NoAddress::Unavailable(retry_after(&self.0))
            })?;
        if reply.status.as_u16() == 404 {
            return Err(NoAddress::NotInProfile);
        }
        if !reply.is_success() {
            tracing::warn!(%user_id, status = %reply.status, "users refused a profile read");
            return Err(NoAddress::Unavailable(retry_after(&self.0)));
        }
        let profile: ProfileReply = reply.json().map_err(|error| {
            tracing::warn!(%user_id, %error, "users answered a profile orders cannot read");
            NoAddress::Unavailable(retry_after(&self.0))
        })?;
        profile
            .address
            .filter(|address| !address.trim().is_empty())
            .ok_or(NoAddress::NotInProfile)
    }
}
