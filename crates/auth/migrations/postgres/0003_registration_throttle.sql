-- Registrations per client address (auth::registration): a sliding hour, shared by every auth
-- process. Keep this file equivalent to migrations/sqlite/0003_registration_throttle.sql.

CREATE TABLE registration_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    client_ip TEXT NOT NULL,
    attempted_at BIGINT NOT NULL
);

CREATE INDEX registration_attempts_client ON registration_attempts (client_ip, attempted_at);
CREATE INDEX registration_attempts_attempted_at ON registration_attempts (attempted_at);
