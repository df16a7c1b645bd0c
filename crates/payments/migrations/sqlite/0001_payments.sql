-- The payments service's storage: one row per charge attempt of the simulated bank.
-- Ids are UUIDv7 text; timestamps are unix milliseconds; money is integer cents.
-- Keep this file equivalent to migrations/postgres/0001_payments.sql.

CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL,
    -- The caller's Idempotency-Key: one key, one charge, whatever the concurrency.
    idempotency_key TEXT NOT NULL,
    order_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents BETWEEN 1 AND 100000000),
    -- What the bank answered first; replays of the key answer it again.
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'declined')),
    -- Where the payment stands now: only an approved payment can become refunded.
    status TEXT NOT NULL CHECK (
        status = decision OR (status = 'refunded' AND decision = 'approved')
    ),
    created_at INTEGER NOT NULL,
    refunded_at INTEGER,
    CONSTRAINT payments_idempotency_key_key UNIQUE (idempotency_key)
);

-- Support looks payments up by order.
CREATE INDEX payments_order_id_idx ON payments (order_id);
