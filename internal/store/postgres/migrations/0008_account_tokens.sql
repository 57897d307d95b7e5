-- One-time account tokens (password reset, email verification). A row is
-- keyed by the SHA-256 of the token; the token itself is never stored in
-- the clear. sealed holds it encrypted with a key derived from
-- LATCH_SECRET only while a webhook may still need to carry it (a reset
-- the user asked for), and is cleared once it is spent.
CREATE TABLE account_tokens (
    hash       bytea PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    text NOT NULL,
    email_key  text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz,
    event_id   text NOT NULL DEFAULT '',
    sealed     bytea
);
CREATE INDEX account_tokens_user ON account_tokens(user_id, purpose);
CREATE INDEX account_tokens_event ON account_tokens(event_id) WHERE event_id != '';
