-- The notifier's storage: one row per notification, and the ids of the events already turned
-- into one (so a redelivered event has no second effect). Ids are UUIDv7 text minted here in
-- processing order, so ordering by id is ordering by creation; timestamps are unix milliseconds.
-- Keep this file equivalent to migrations/sqlite/0001_notifier.sql. Ids compare byte-wise
-- (COLLATE "C", as SQLite does), so "after id X" means "created after X" whatever the locale.

CREATE TABLE notifications (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    -- The user the notification is for: the order's owner.
    user_id TEXT NOT NULL,
    -- The event type it came from, such as `order.created`.
    kind TEXT NOT NULL,
    -- The human line, as printed on the console.
    message TEXT NOT NULL,
    order_id TEXT NOT NULL,
    -- The event it came from, for tracing a notification back to the bus.
    event_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- NULL while unread.
    read_at BIGINT
);

-- A user's inbox, newest first, and "everything after id X" for stream replays.
CREATE INDEX notifications_user_id_id_idx ON notifications (user_id, id);

-- Events already turned into a notification (platform::events::consumer), written in the same
-- transaction as the notification.
CREATE TABLE IF NOT EXISTS processed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
