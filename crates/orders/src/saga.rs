//! The order saga (DESIGN §5): reserve stock, store the order, charge, and settle or compensate.
//!
//! ```text
//! POST /orders ─► reserve at products ─► store awaiting_payment (+order.created)
//!                                        ─► charge at payments ─┬─ approved ─► paid (+order.paid), confirm
//!                                                               ├─ declined ─► payment_failed (+event), release
//!                                                               └─ no answer ─► stays awaiting_payment (503)
//!                                                                    └─ retry: POST /orders/{id}/payment
//!                                                                    └─ nobody pays: expiry ─► cancelled, release
//! DELETE /orders/{id} ─► cancelled (+order.cancelled), release, refund if paid
//! ```
//!
//! Every status change is a conditional update (see [`crate::storage`]): whoever changes the
//! order first wins, and the loser re-reads it and answers from what it finds. The calls a
//! change owes other services (release, confirm, refund) are stored with the change and then
//! performed at once; if the service is down, the sweep ([`sweep`]) retries them until it
//! answers. Two situations need care:
//!
//! - *A charge whose answer was lost* (timeout, 5xx, breaker open) may or may not have gone
//!   through. The order stays `awaiting_payment`, and every later attempt for it uses the same
//!   idempotency key at the bank, so the bank answers the lost charge's decision instead of
//!   charging again.
//! - *A charge approved for an order cancelled meanwhile* (by its owner, an admin or expiry)
//!   is refunded: the money never stays taken for a cancelled order.

use std::time::Duration;

use anyhow::Context;
use platform::AuthUser;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{IdempotencyKey, NewOrder, Order, OrderItem, OrderStatus, ShippingAddress};
use crate::error::OrdersError;
use crate::events::{order_event, reason};
use crate::state::AppState;
use crate::storage::{Command, CommandKind, Transition};
use crate::upstream::{Delivery, NoAddress, ReserveError, ReservedLine};

/// How long a reservation may stay without its order before the guard hands the stock back;
/// far longer than placing an order can take.
const RESERVATION_GUARD: Duration = Duration::from_secs(120);

/// Orders handled per expiry pass, and commands per command pass.
const SWEEP_BATCH: i64 = 100;

/// Keys older than this are forgotten: a repeat a day later is a new request.
const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// What a charge came to.
#[derive(Debug, Clone)]
pub enum PaymentOutcome {
    Paid(Order),
    Declined(Order),
    /// No answer from the bank: the order stays `awaiting_payment` and may be paid later.
    Unavailable {
        order: Order,
        retry_after: Duration,
    },
}

/// The bank's idempotency key for charging `order_id`.
///
/// The key names the order's first (and only) charge attempt: every retry of an unpaid order is
/// a retry of that same attempt, because no answer that leaves the order payable is final. A
/// timed-out charge may have gone through; only the same key lets the bank answer it rather
/// than charge again. (A declined charge ends the order as `payment_failed`, so no second
/// attempt number is ever needed.)
pub fn charge_key(order_id: Uuid) -> String {
    format!("order-{order_id}-attempt-1")
}

/// Places an order for `user`: the whole of `POST /orders` after the request was parsed.
///
/// Errors mean nothing was stored (except a 500 after storing); declined and unavailable
/// payments are outcomes of a stored order.
pub async fn place(
    state: &AppState,
    user: &AuthUser,
    request: &NewOrder,
    key: Option<&IdempotencyKey>,
) -> Result<PaymentOutcome, OrdersError> {
    let shipping_address = shipping_address(state, user, request).await?;
    let order_id = Uuid::now_v7();

    // Registered before reserving, so stock reserved for an order that then never gets stored
    // (products timed out after reserving, or this process died) is handed back.
    let guard = Command::new(CommandKind::Release, order_id).delayed(RESERVATION_GUARD);
    state.storage.insert_command(&guard).await?;
    let reserved = match state
        .upstreams
        .products
        .reserve(order_id, request.lines())
        .await
    {
        Ok(lines) => lines,
        Err(error) => return Err(reservation_failed(state, request, &guard, error).await),
    };

    let now = truncated_now();
    let priced = priced(request, reserved)
        .map_err(OrdersError::from)
        .and_then(|items| {
            // Checked before anything is stored: a charge the bank can never accept would leave
            // the order awaiting payment for good.
            match crate::domain::order_total(&items) {
                Some(total) if total <= platform::money::MAX_AMOUNT_CENTS => Ok((items, total)),
                total => Err(OrdersError::TotalTooLarge {
                    total_cents: total.unwrap_or(i64::MAX),
                }),
            }
        });
    let order = match priced {
        Ok((items, total_cents)) => Order {
            id: order_id,
            user_id: user.id,
            username: user.username.clone(),
            status: OrderStatus::AwaitingPayment,
            total_cents,
            items,
            shipping_address,
            payment_id: None,
            created_at: now,
            updated_at: now,
        },
        Err(error) => {
            hand_back_now(state, &guard).await;
            return Err(error);
        }
    };
    let created = order_event(&order, OrderStatus::AwaitingPayment, None);
    let bound_key = key.map(|key| (user.id, key.as_str()));
    if let Err(error) = state
        .storage
        .insert_order(&order, guard.id, bound_key, &created)
        .await
    {
        hand_back_now(state, &guard).await;
        return Err(error);
    }
    state.relay.wake();
    tracing::info!(order_id = %order.id, user_id = %user.id, total_cents = order.total_cents, "order placed");
    charge(state, order).await
}

/// The address to ship to: the request's, else the profile's.
async fn shipping_address(
    state: &AppState,
    user: &AuthUser,
    request: &NewOrder,
) -> Result<String, OrdersError> {
    if let Some(address) = request.shipping_address() {
        return Ok(address.as_str().to_owned());
    }
    match state.upstreams.users.address(user.id).await {
        Ok(address) => ShippingAddress::parse(address)
            .map(ShippingAddress::into_string)
            .map_err(|_| OrdersError::MissingAddress("the address in your profile is not usable")),
        Err(NoAddress::NotInProfile) => Err(OrdersError::MissingAddress(
            "your profile has no address; give shipping_address",
        )),
        // Not the client's fault: the same request succeeds once users answers.
        Err(NoAddress::Unavailable(retry_after)) => {
            Err(OrdersError::UsersUnavailable { retry_after })
        }
    }
}

/// The error for a failed reservation, after dealing with the guard.
async fn reservation_failed(
    state: &AppState,
    request: &NewOrder,
    guard: &Command,
    error: ReserveError,
) -> OrdersError {
    match error {
        ReserveError::UnknownProduct(product_id) => {
            // All or nothing: nothing was reserved, the guard has nothing to guard.
            forget(state, guard).await;
            OrdersError::UnknownProduct {
                product_id,
                line: request.position_of(product_id),
            }
        }
        ReserveError::InsufficientStock(product_id) => {
            forget(state, guard).await;
            OrdersError::InsufficientStock {
                product_id,
                line: request.position_of(product_id),
            }
        }
        ReserveError::Unavailable(error) => {
            // Maybe reserved, maybe not: release (harmless either way) once products answers.
            tracing::warn!(order_id = %guard.order_id, %error, "products unavailable for a reservation");
            make_due(state, guard).await;
            OrdersError::ProductsUnavailable {
                retry_after: state.upstreams.products.retry_after(),
            }
        }
        ReserveError::Unexpected(reason) => {
            hand_back_now(state, guard).await;
            OrdersError::from(anyhow::anyhow!(
                "products answered a reservation outside the contract: {reason}"
            ))
        }
    }
}

/// The order's lines from products' reservation, checked against what was asked.
fn priced(request: &NewOrder, reserved: Vec<ReservedLine>) -> anyhow::Result<Vec<OrderItem>> {
    anyhow::ensure!(
        reserved.len() == request.lines().len(),
        "products reserved {} lines for {} requested",
        reserved.len(),
        request.lines().len()
    );
    request
        .lines()
        .iter()
        .map(|line| {
            let product_id = line.product_id.get();
            let quantity = line.quantity.get();
            let reserved = reserved
                .iter()
                .find(|reserved| reserved.product_id == product_id)
                .with_context(|| format!("products did not reserve product {product_id}"))?;
            anyhow::ensure!(
                reserved.quantity == i64::from(quantity),
                "products reserved {} of product {product_id}, {quantity} requested",
                reserved.quantity
            );
            let line_total = crate::domain::line_total(reserved.unit_price_cents, quantity)
                .with_context(|| format!("product {product_id} has an unusable price"))?;
            Ok(OrderItem {
                product_id,
                name: reserved.name.clone(),
                unit_price_cents: reserved.unit_price_cents,
                quantity,
                line_total_cents: line_total,
            })
        })
        .collect()
}

/// Charges an order awaiting payment and settles it with the bank's answer.
pub async fn charge(state: &AppState, order: Order) -> Result<PaymentOutcome, OrdersError> {
    if order.total_cents == 0 {
        // Nothing to charge (free products): the bank takes 1 cent at least.
        return settle_paid(state, order, None).await;
    }
    let decision = state
        .upstreams
        .payments
        .charge(order.id, order.total_cents, &charge_key(order.id))
        .await;
    match decision {
        Ok(decision) if decision.approved => {
            settle_paid(state, order, Some(decision.payment_id)).await
        }
        Ok(_) => settle_declined(state, order).await,
        Err(unavailable) => {
            tracing::warn!(order_id = %order.id, reason = %unavailable.reason, "payment unavailable; the order stays awaiting payment");
            Ok(PaymentOutcome::Unavailable {
                order,
                retry_after: unavailable.retry_after,
            })
        }
    }
}

async fn settle_paid(
    state: &AppState,
    mut order: Order,
    payment_id: Option<String>,
) -> Result<PaymentOutcome, OrdersError> {
    let event = order_event(&order, OrderStatus::Paid, None);
    let applied = state
        .storage
        .transition(Transition {
            order_id: order.id,
            from: OrderStatus::AwaitingPayment,
            to: OrderStatus::Paid,
            payment_id: payment_id.as_deref(),
            event: &event,
            commands: &[],
        })
        .await?;
    let Some(updated_at) = applied else {
        let current = reread(state, order.id).await?;
        let settled_by_us = matches!(
            current.status,
            OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered
        ) && current.payment_id == payment_id;
        if settled_by_us {
            // A concurrent attempt with the same key got the same approval and settled first.
            return Ok(PaymentOutcome::Paid(current));
        }
        if let Some(payment_id) = payment_id {
            tracing::warn!(order_id = %order.id, status = %current.status, "charge approved for an order no longer payable; refunding");
            let refund = Command::refund(order.id, payment_id);
            state.storage.insert_command(&refund).await?;
            perform(state, &refund).await;
        }
        return Err(OrdersError::NotAwaitingPayment {
            order_id: current.id,
            status: current.status,
        });
    };
    state.relay.wake();
    order.status = OrderStatus::Paid;
    order.payment_id = payment_id;
    order.updated_at = updated_at;
    // Bookkeeping at products; stored only if it cannot be done now.
    match state.upstreams.products.confirm(order.id).await {
        Delivery::Done => {}
        Delivery::Retry(why) => {
            tracing::warn!(order_id = %order.id, %why, "confirming the reservation failed; will retry");
            let confirm = Command::new(CommandKind::Confirm, order.id);
            state.storage.insert_command(&confirm).await?;
        }
        Delivery::Refused(why) => {
            tracing::error!(order_id = %order.id, %why, "products refused to confirm a reservation");
        }
    }
    tracing::info!(order_id = %order.id, "order paid");
    Ok(PaymentOutcome::Paid(order))
}

async fn settle_declined(
    state: &AppState,
    mut order: Order,
) -> Result<PaymentOutcome, OrdersError> {
    let release = Command::new(CommandKind::Release, order.id);
    let event = order_event(
        &order,
        OrderStatus::PaymentFailed,
        Some(reason::PAYMENT_DECLINED),
    );
    let applied = state
        .storage
        .transition(Transition {
            order_id: order.id,
            from: OrderStatus::AwaitingPayment,
            to: OrderStatus::PaymentFailed,
            payment_id: None,
            event: &event,
            commands: std::slice::from_ref(&release),
        })
        .await?;
    let Some(updated_at) = applied else {
        let current = reread(state, order.id).await?;
        return match current.status {
            OrderStatus::PaymentFailed => Ok(PaymentOutcome::Declined(current)),
            status => Err(OrdersError::NotAwaitingPayment {
                order_id: current.id,
                status,
            }),
        };
    };
    state.relay.wake();
    perform(state, &release).await;
    order.status = OrderStatus::PaymentFailed;
    order.updated_at = updated_at;
    tracing::info!(order_id = %order.id, "payment declined; stock released");
    Ok(PaymentOutcome::Declined(order))
}

/// Retries the charge of an order (`POST /orders/{id}/payment`).
pub async fn retry_payment(state: &AppState, order: Order) -> Result<PaymentOutcome, OrdersError> {
    if order.status != OrderStatus::AwaitingPayment {
        return Err(OrdersError::NotAwaitingPayment {
            order_id: order.id,
            status: order.status,
        });
    }
    charge(state, order).await
}

/// Cancels an order: releases its stock, refunds it if paid, announces it. Cancelling a
/// cancelled order changes nothing and succeeds (so a retried `DELETE` is harmless).
pub async fn cancel(
    state: &AppState,
    mut order: Order,
    why: &'static str,
) -> Result<Order, OrdersError> {
    // A concurrent change makes the conditional update miss; re-read and decide again. The
    // status only moves forward, so this ends within a few rounds.
    for _ in 0..5 {
        let from = order.status;
        if from == OrderStatus::Cancelled {
            return Ok(order);
        }
        if !from.can_become(OrderStatus::Cancelled) {
            return Err(OrdersError::IllegalTransition {
                from,
                to: OrderStatus::Cancelled,
            });
        }
        let mut owed = Vec::new();
        // A failed payment already handed its stock back.
        if from != OrderStatus::PaymentFailed {
            owed.push(Command::new(CommandKind::Release, order.id));
        }
        if from == OrderStatus::Paid
            && let Some(payment_id) = &order.payment_id
        {
            owed.push(Command::refund(order.id, payment_id));
        }
        let event = order_event(&order, OrderStatus::Cancelled, Some(why));
        let applied = state
            .storage
            .transition(Transition {
                order_id: order.id,
                from,
                to: OrderStatus::Cancelled,
                payment_id: None,
                event: &event,
                commands: &owed,
            })
            .await?;
        if let Some(updated_at) = applied {
            state.relay.wake();
            for command in &owed {
                perform(state, command).await;
            }
            order.status = OrderStatus::Cancelled;
            order.updated_at = updated_at;
            tracing::info!(order_id = %order.id, reason = why, "order cancelled");
            return Ok(order);
        }
        order = reread(state, order.id).await?;
    }
    Err(OrdersError::from(anyhow::anyhow!(
        "order {} kept changing while being cancelled",
        order.id
    )))
}

/// An admin's `PATCH /orders/{id}` to `target`. Asking for the current status is a no-op, so
/// a retried PATCH is harmless; anything outside the transition table is refused.
pub async fn set_status(
    state: &AppState,
    mut order: Order,
    target: OrderStatus,
) -> Result<Order, OrdersError> {
    for _ in 0..5 {
        let from = order.status;
        if from == target {
            return Ok(order);
        }
        if !target.admin_may_set() || !from.can_become(target) {
            return Err(OrdersError::IllegalTransition { from, to: target });
        }
        if target == OrderStatus::Cancelled {
            return cancel(state, order, reason::CANCELLED_BY_ADMIN).await;
        }
        let event = order_event(&order, target, None);
        let applied = state
            .storage
            .transition(Transition {
                order_id: order.id,
                from,
                to: target,
                payment_id: None,
                event: &event,
                commands: &[],
            })
            .await?;
        if let Some(updated_at) = applied {
            state.relay.wake();
            order.status = target;
            order.updated_at = updated_at;
            return Ok(order);
        }
        order = reread(state, order.id).await?;
    }
    Err(OrdersError::from(anyhow::anyhow!(
        "order {} kept changing while its status was set",
        order.id
    )))
}

/// One expiry pass: cancels the orders left awaiting payment longer than the payment timeout
/// and releases their stock. Returns how many it cancelled.
pub async fn expire_unpaid(state: &AppState) -> Result<usize, OrdersError> {
    let timeout = time::Duration::try_from(state.settings.payment_timeout)
        .context("the payment timeout is out of range")?;
    let cutoff = OffsetDateTime::now_utc() - timeout;
    let due = state
        .storage
        .unpaid_since_before(cutoff, SWEEP_BATCH)
        .await?;
    let mut expired = 0;
    for order in due {
        let release = Command::new(CommandKind::Release, order.id);
        let event = order_event(
            &order,
            OrderStatus::Cancelled,
            Some(reason::PAYMENT_TIMEOUT),
        );
        let applied = state
            .storage
            .transition(Transition {
                order_id: order.id,
                from: OrderStatus::AwaitingPayment,
                to: OrderStatus::Cancelled,
                payment_id: None,
                event: &event,
                commands: std::slice::from_ref(&release),
            })
            .await?;
        if applied.is_some() {
            state.relay.wake();
            perform(state, &release).await;
            tracing::info!(order_id = %order.id, "unpaid order expired; stock released");
            expired += 1;
        }
    }
    Ok(expired)
}

/// One pass over the owed calls whose time has come. Returns how many are done.
pub async fn run_due_commands(state: &AppState) -> Result<usize, OrdersError> {
    let due = state.storage.due_commands(SWEEP_BATCH).await?;
    let mut done = 0;
    for command in &due {
        if perform(state, command).await {
            done += 1;
        }
    }
    Ok(done)
}

/// Performs an owed call and records the result: forgotten when done (or refused for good,
/// which is logged), rescheduled with backoff when the service could not be reached. Returns
/// whether the call is settled.
async fn perform(state: &AppState, command: &Command) -> bool {
    let delivery = match command.kind {
        CommandKind::Confirm => state.upstreams.products.confirm(command.order_id).await,
        CommandKind::Release => state.upstreams.products.release(command.order_id).await,
        CommandKind::Refund => match &command.payment_id {
            Some(payment_id) => state.upstreams.payments.refund(payment_id).await,
            None => Delivery::Refused("a refund without a payment id".into()),
        },
    };
    let outcome = match delivery {
        Delivery::Done => state.storage.command_done(command.id).await.map(|()| true),
        Delivery::Refused(why) => {
            tracing::error!(order_id = %command.order_id, kind = command.kind.as_str(), %why, "an owed call was refused; giving up on it");
            state.storage.command_done(command.id).await.map(|()| true)
        }
        Delivery::Retry(why) => {
            tracing::warn!(order_id = %command.order_id, kind = command.kind.as_str(), attempts = command.attempts + 1, %why, "an owed call failed; will retry");
            state.storage.command_failed(command).await.map(|()| false)
        }
    };
    outcome.unwrap_or_else(|error| {
        // The row stays and the sweep performs the call again: harmless, it is idempotent.
        tracing::error!(order_id = %command.order_id, kind = command.kind.as_str(), error = %error, "cannot record an owed call's outcome");
        false
    })
}

/// Drops a guard that has nothing left to guard.
async fn forget(state: &AppState, guard: &Command) {
    if let Err(error) = state.storage.command_done(guard.id).await {
        // Harmless: the guard will release a reservation that does not exist.
        tracing::warn!(order_id = %guard.order_id, error = %error, "cannot drop a reservation guard");
    }
}

/// Lets the sweep run a guard now rather than after its delay.
async fn make_due(state: &AppState, guard: &Command) {
    if let Err(error) = state.storage.command_due_now(guard.id).await {
        tracing::warn!(order_id = %guard.order_id, error = %error, "cannot bring a reservation guard forward; it runs after its delay");
    }
}

/// Releases a reservation whose order will not be stored, now if products answers.
async fn hand_back_now(state: &AppState, guard: &Command) {
    if !perform(state, guard).await {
        make_due(state, guard).await;
    }
}

async fn reread(state: &AppState, order_id: Uuid) -> Result<Order, OrdersError> {
    state
        .storage
        .find_order(order_id)
        .await?
        .ok_or(OrdersError::NotFound)
}

/// Now, at the millisecond precision storage keeps, so an answer equals a later read.
fn truncated_now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
}

/// The background sweep: expires unpaid orders, retries owed calls (publishing how many wait
/// as the `orders_owed_calls_pending` gauge), forgets old idempotency keys; every
/// `sweep_interval` until `shutdown` fires.
pub fn sweep(
    state: AppState,
    shutdown: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(state.settings.sweep_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if let Err(error) = expire_unpaid(&state).await {
                tracing::error!(error = %error, "the expiry pass failed");
            }
            if let Err(error) = run_due_commands(&state).await {
                tracing::error!(error = %error, "the owed-calls pass failed");
            }
            match state.storage.pending_commands().await {
                Ok(pending) => metrics::gauge!("orders_owed_calls_pending", "service" => "orders")
                    .set(pending as f64),
                Err(error) => tracing::warn!(error = %error, "cannot count the owed calls"),
            }
            if last_purge.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                last_purge = Some(tokio::time::Instant::now());
                let before =
                    crate::storage::now_millis() - crate::storage::millis(IDEMPOTENCY_RETENTION);
                if let Err(error) = state.storage.purge_keys(before).await {
                    tracing::warn!(error = %error, "forgetting old idempotency keys failed");
                }
            }
        }
    })
}
