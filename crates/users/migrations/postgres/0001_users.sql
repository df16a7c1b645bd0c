-- The users service's storage: profiles (with tombstones) and the ids of processed events.
-- Ids are UUIDv7 text (a profile's id is its auth account's id); timestamps are unix
-- milliseconds. Keep this file equivalent to migrations/sqlite/0001_users.sql.

CREATE TABLE profiles (
    id TEXT PRIMARY KEY NOT NULL,
    -- A copy of auth's username, for display; NULL only on a tombstone.
    username TEXT,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    address TEXT,
    phone TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Set when the profile is deleted: the row stays as a tombstone with every personal detail
    -- erased, so no late event or first visit can create the profile again.
    deleted_at BIGINT,
    CONSTRAINT profiles_live_have_username CHECK (deleted_at IS NOT NULL OR username IS NOT NULL)
);

-- The admin list pages through live profiles, oldest first.
CREATE INDEX profiles_created_at ON profiles (created_at, id);

-- platform::events::consumer::POSTGRES_TABLE
CREATE TABLE IF NOT EXISTS processed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
