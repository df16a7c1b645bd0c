-- Named counters. The API shows the one named 'hits'; the row is created by the first visit
-- (an upsert), so the table starts empty and a deleted row cannot break the service.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL CHECK (value >= 0)
);
