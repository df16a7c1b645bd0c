-- The products service's storage: the catalogue, stock reservations made for orders, and a
-- marker of what first start already did. Timestamps are unix milliseconds; money is integer
-- cents. Keep this file equivalent to migrations/postgres/0001_products.sql.

CREATE TABLE products (
    -- Small integers, never reused (AUTOINCREMENT): orders and the seeds name products by id.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- The name lowercased by the service, so `?q=` matches ignoring case on every engine.
    name_search TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    -- The last line of defence: reservations decrement with a conditional UPDATE, so this
    -- never fires, but stock below zero must be impossible whatever the code does.
    stock INTEGER NOT NULL CHECK (stock >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One per order: the stock it holds and what happened to it. A `released` row with no lines
-- is a tombstone, written when orders releases a reservation this service never saw, so a late
-- reserve for that order reserves nothing.
CREATE TABLE reservations (
    order_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'confirmed', 'released')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- What was reserved, with the name and price captured at reservation time: the order is billed
-- what the customer saw, even if an admin edits the product a moment later. No foreign key to
-- products: a product may be deleted while old orders still name it.
CREATE TABLE reservation_lines (
    order_id TEXT NOT NULL REFERENCES reservations (order_id) ON DELETE CASCADE,
    -- The line's position in the request, so answers list lines as they were asked for.
    line_no INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);

-- Things done once per database, such as seeding the catalogue on first start.
CREATE TABLE service_markers (
    name TEXT PRIMARY KEY NOT NULL,
    set_at INTEGER NOT NULL
);
