-- The cars service's storage: one row per car. Ids are UUIDv7 text, `owner_id` the creator's
-- account id, timestamps unix milliseconds. Keep this file equivalent to
-- migrations/sqlite/0001_cars.sql.

CREATE TABLE cars (
    -- Collation "C": the tie-breaker of every sort, ordered the same as on SQLite.
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    brand TEXT NOT NULL,
    model TEXT NOT NULL,
    year BIGINT NOT NULL CHECK (year >= 1886),
    color TEXT NOT NULL,
    -- The text fields lowercased by the service (Unicode-aware, so `CITROËN` = `citroën`): the
    -- filters match and the sorts order on these. Collation "C" orders by code point, as
    -- SQLite does, so a sorted listing is the same on both engines whatever the server locale.
    brand_key TEXT COLLATE "C" NOT NULL,
    model_key TEXT COLLATE "C" NOT NULL,
    color_key TEXT COLLATE "C" NOT NULL,
    owner_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A customer's listing: their cars, in creation order.
CREATE INDEX cars_owner_created ON cars (owner_id, created_at, id);
-- An admin's listing: every car, in creation order.
CREATE INDEX cars_created ON cars (created_at, id);
