-- The auth service's storage: accounts, refresh-token families, signing keys, failed logins.
-- Ids are UUIDv7 text; timestamps are unix milliseconds, so they sort and compare as integers
-- on every engine. Keep this file equivalent to migrations/postgres/0001_auth.sql.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    -- As registered, for display.
    username TEXT NOT NULL,
    -- Lowercased: usernames are unique ignoring case.
    username_lower TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('customer', 'admin')),
    -- Optional details given at registration, for the users service's profile.
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    address TEXT,
    created_at INTEGER NOT NULL,
    CONSTRAINT users_username_lower_key UNIQUE (username_lower)
);

-- One family per login: every refresh token descended from it shares the family, so reuse of
-- any of them can revoke all of them at once.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE INDEX refresh_families_user_id ON refresh_families (user_id);

CREATE TABLE refresh_tokens (
    -- Hex SHA-256 of the token; the token itself is never stored.
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- Set once, atomically, when the token is exchanged for a new pair.
    used_at INTEGER
);

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_expires_at ON refresh_tokens (user_id, expires_at);

CREATE TABLE signing_keys (
    -- RFC 7638 thumbprint of the public key.
    kid TEXT PRIMARY KEY NOT NULL,
    -- PKCS#8 DER, standard base64.
    private_key TEXT NOT NULL,
    -- The raw Ed25519 public key, base64url without padding (the JWK's `x`).
    public_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- When a newer key replaced this one for signing; NULL while it is the signing key.
    superseded_at INTEGER
);

CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    username_lower TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);

CREATE INDEX login_failures_subject ON login_failures (username_lower, client_ip, failed_at);
CREATE INDEX login_failures_failed_at ON login_failures (failed_at);
