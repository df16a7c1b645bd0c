-- A notification keeps the details its line was written from, so a client can write its own
-- sentence (in its own language and money format) instead of showing the console's line:
-- an order's total and the event's reason code, an agenda event's title. NULL where the event
-- had none, and in notifications stored before this migration.
-- Keep this file equivalent to migrations/postgres/0003_notification_details.sql.

ALTER TABLE notifications ADD COLUMN total_cents INTEGER;
ALTER TABLE notifications ADD COLUMN reason TEXT;
ALTER TABLE notifications ADD COLUMN title TEXT;
