-- The agenda's storage: the seed's events (happenings), and the transactional outbox that
-- announces their changes on `agenda-events`. Ids are UUIDv7 text; times are unix milliseconds.
-- Keep this file equivalent to migrations/postgres/0001_agenda.sql.

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    -- Lowercased by the service, so `?q=` matches ignoring case on every engine.
    title_search TEXT NOT NULL,
    description_search TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    -- Strictly after the start: the service checks it, and this refuses whatever slips by.
    ends_at INTEGER NOT NULL CHECK (ends_at > starts_at),
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    organizer_id TEXT NOT NULL,
    -- The organizer's username when the event was created, for the events the agenda publishes
    -- (the notifier prints "created by alice").
    organizer_username TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The anonymous listing (public, upcoming first), and a caller's own events.
CREATE INDEX events_visibility_starts_at_idx ON events (visibility, starts_at);
CREATE INDEX events_organizer_id_starts_at_idx ON events (organizer_id, starts_at);
CREATE INDEX events_starts_at_idx ON events (starts_at);

-- The transactional outbox (platform::events::outbox::SQLITE_TABLE): each change writes its
-- `event.*` here in the same transaction, and the relay publishes it on `agenda-events`.
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at, id) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
