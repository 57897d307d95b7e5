-- latch schema, version 2: TOTP second factor. Whether a user has
-- two-factor on is derived from user_totp (a confirmed row), never stored
-- twice, so the flag and the credential cannot disagree.

ALTER TABLE users DROP COLUMN two_factor_enabled;

CREATE TABLE user_totp (
    user_id      TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    secret       BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash    BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, hash)
);

-- Second-factor attempts inside the throttling window; older rows are
-- pruned whenever an attempt is counted.
CREATE TABLE second_factor_attempts (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at      INTEGER NOT NULL
);
CREATE INDEX second_factor_attempts_user ON second_factor_attempts(user_id, at);
