-- Notifications now also come from the agenda (`agenda-events`, consumed as group `notifier`
-- too): such a notification names the agenda event instead of an order.
-- Keep this file equivalent to migrations/sqlite/0002_agenda_notifications.sql.

-- The order an `order.*` event was about; NULL for an agenda notification.
ALTER TABLE notifications ALTER COLUMN order_id DROP NOT NULL;
-- The agenda event an `event.*` was about; NULL for an order notification.
ALTER TABLE notifications ADD COLUMN agenda_event_id TEXT;
ALTER TABLE notifications ADD CONSTRAINT notifications_one_subject
    CHECK ((order_id IS NULL) <> (agenda_event_id IS NULL));
