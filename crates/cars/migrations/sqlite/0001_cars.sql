-- The cars service's storage: one row per car. Ids are UUIDv7 text, `owner_id` the creator's
-- account id, timestamps unix milliseconds. Keep this file equivalent to
-- migrations/postgres/0001_cars.sql.

CREATE TABLE cars (
    id TEXT PRIMARY KEY NOT NULL,
    brand TEXT NOT NULL,
    model TEXT NOT NULL,
    year INTEGER NOT NULL CHECK (year >= 1886),
    color TEXT NOT NULL,
    -- The text fields lowercased by the service (Unicode-aware, so `CITROËN` = `citroën`): the
    -- filters match and the sorts order on these, the same way on every engine.
    brand_key TEXT NOT NULL,
    model_key TEXT NOT NULL,
    color_key TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A customer's listing: their cars, in creation order.
CREATE INDEX cars_owner_created ON cars (owner_id, created_at, id);
-- An admin's listing: every car, in creation order.
CREATE INDEX cars_created ON cars (created_at, id);
