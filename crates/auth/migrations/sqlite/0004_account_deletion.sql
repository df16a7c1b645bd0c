-- Deleted users (auth::deletion): the users service announces a deleted profile with
-- `user.deleted`, and auth disables the account for good. The row stays, so the username stays
-- taken (it is never handed to someone else with this account's history); its personal details
-- and password hash are erased. Keep this file equivalent to migrations/postgres/0004_account_deletion.sql.

-- When the account was disabled (unix milliseconds, auth's clock); NULL while it is usable.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- Verifiers poll the accounts disabled since a cursor (GET /internal/disabled-accounts).
CREATE INDEX users_disabled_at ON users (disabled_at, id) WHERE disabled_at IS NOT NULL;

-- platform::events::consumer::SQLITE_TABLE: auth consumes user-events (group auth).
CREATE TABLE IF NOT EXISTS processed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
