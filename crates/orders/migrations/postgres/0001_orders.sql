-- The orders service's storage: orders and their lines, idempotency keys, the calls the saga
-- owes other services, and the event outbox. Ids are UUIDv7 text (product ids are the products
-- service's integers); timestamps are unix milliseconds; money is integer cents.
-- Keep this file equivalent to migrations/sqlite/0001_orders.sql.

CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    -- The owner's username when the order was placed, for the events ("created by alice").
    username TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('awaiting_payment', 'paid', 'payment_failed', 'cancelled', 'shipped', 'delivered')),
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    shipping_address TEXT NOT NULL,
    -- The approved payment at the payments service, which a cancellation refunds.
    payment_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX orders_user_id_created_at ON orders (user_id, created_at);
CREATE INDEX orders_created_at ON orders (created_at);
-- The expiry sweep looks for old orders still awaiting payment.
CREATE INDEX orders_status_created_at ON orders (status, created_at);

CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    -- The product's name and price when the stock was reserved, as the products service said.
    name TEXT NOT NULL,
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    quantity BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    line_total_cents BIGINT NOT NULL CHECK (line_total_cents >= 0),
    PRIMARY KEY (order_id, line_no)
);

-- One row per (user, Idempotency-Key) of POST /orders: claimed before any work, bound to the
-- order it created, then holding the first answer for replay.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- A canonical form of the request, so a key reused for another request is refused.
    request TEXT NOT NULL,
    order_id TEXT,
    -- The first answer: JSON {status, headers, body}.
    response TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, idempotency_key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Calls owed to products (confirm, release) and payments (refund), written in the same
-- transaction as the status change that owes them and retried until they succeed.
CREATE TABLE saga_commands (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirm', 'release', 'refund')),
    payment_id TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX saga_commands_next_attempt_at ON saga_commands (next_attempt_at);

-- Events waiting to be published on the bus (platform::events::outbox::POSTGRES_TABLE, copied).
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at, id) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
