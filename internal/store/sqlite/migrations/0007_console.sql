-- latch schema, version 7: sessions of the operator console. A row is
-- keyed by the SHA-256 of the session id the operator's cookie holds;
-- the id itself is never stored. token_mac ties the session to the admin
-- token it was started with (HMAC keyed with the id), so that changing
-- LATCH_ADMIN_TOKEN ends every console session.
CREATE TABLE console_sessions (
    id_hash    BLOB PRIMARY KEY,
    token_mac  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
