-- Notifications now also come from the agenda (`agenda-events`, consumed as group `notifier`
-- too): such a notification names the agenda event instead of an order. SQLite cannot relax a
-- NOT NULL in place, so the table is rebuilt with the same rows.
-- Keep this file equivalent to migrations/postgres/0002_agenda_notifications.sql.

CREATE TABLE notifications_new (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    -- The order an `order.*` event was about; NULL for an agenda notification.
    order_id TEXT,
    event_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER,
    -- The agenda event an `event.*` was about; NULL for an order notification.
    agenda_event_id TEXT,
    CONSTRAINT notifications_one_subject CHECK ((order_id IS NULL) <> (agenda_event_id IS NULL))
);

INSERT INTO notifications_new (id, user_id, kind, message, order_id, event_id, created_at, read_at)
SELECT id, user_id, kind, message, order_id, event_id, created_at, read_at FROM notifications;

DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;

-- A user's inbox, newest first, and "everything after id X" for stream replays.
CREATE INDEX notifications_user_id_id_idx ON notifications (user_id, id);
