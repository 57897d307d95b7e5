-- latch schema, version 5: what the security review asked of the store.

-- Addresses each user logged in from with its password (the limit key: an
-- IPv4 address or an IPv6 /64). The account-wide failure ceiling and the
-- daily second-factor cap spare them. At most a few per user: the store
-- keeps the most recent (identity.KnownAddressesPerUser).
CREATE TABLE known_addresses (
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address       TEXT NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, address)
);

-- Second-factor attempts are throttled per (user, address).
ALTER TABLE second_factor_attempts ADD COLUMN address TEXT NOT NULL DEFAULT '';

-- At most one live re-authentication grant per (user, device). Of the
-- duplicates the old two-step write could leave, the newest stays live.
UPDATE sessions SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000,
    revoke_reason = 'replaced by a new re-authentication token'
WHERE kind = 'reauth' AND revoked_at IS NULL AND EXISTS (
    SELECT 1 FROM sessions AS newer
    WHERE newer.kind = 'reauth' AND newer.revoked_at IS NULL AND newer.user_id = sessions.user_id
      AND newer.device_name = sessions.device_name
      AND (newer.created_at > sessions.created_at OR (newer.created_at = sessions.created_at AND newer.id > sessions.id)));
CREATE UNIQUE INDEX sessions_live_grant ON sessions(user_id, device_name) WHERE kind = 'reauth' AND revoked_at IS NULL;

-- Optional user names, unique per tenant compared case-insensitively
-- (username_key is NULL when there is none; NULLs do not collide).
ALTER TABLE users ADD COLUMN username TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_username ON users(tenant_id, username_key);
