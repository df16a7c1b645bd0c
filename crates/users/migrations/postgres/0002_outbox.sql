-- The transactional outbox (platform::events::outbox::POSTGRES_TABLE): `user.deleted` is written
-- here in the same transaction as the profile's tombstone, and the relay publishes it on
-- `user-events`. Keep this file equivalent to migrations/sqlite/0002_outbox.sql.

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
