-- What the security review asked of the store (SQLite's version 5).

-- Addresses each user logged in from with its password (the limit key: an
-- IPv4 address or an IPv6 /64). The account-wide failure ceiling and the
-- daily second-factor cap spare them; the store keeps the most recent few
-- (identity.KnownAddressesPerUser).
CREATE TABLE known_addresses (
    user_id       text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address       text NOT NULL,
    last_login_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, address)
);

-- Seeded from the last 30 days of sessions (IPv4 only; an IPv6 address
-- becomes known, as its /64, at its next login), so that owners are not
-- all strangers right after the upgrade.
INSERT INTO known_addresses (user_id, address, last_login_at)
SELECT user_id, ip, at FROM (
    SELECT user_id, ip, max(created_at) AS at,
        row_number() OVER (PARTITION BY user_id ORDER BY max(created_at) DESC) AS n
    FROM sessions
    WHERE kind = '' AND ip ~ '^[0-9]{1,3}(\.[0-9]{1,3}){3}$' AND created_at >= now() - interval '30 days'
    GROUP BY user_id, ip) AS recent
WHERE n <= 20;

-- Second-factor attempts are throttled per (user, address).
ALTER TABLE second_factor_attempts ADD COLUMN address text NOT NULL DEFAULT '';

-- At most one live re-authentication grant per (user, device). Of the
-- duplicates the old two-step write could leave, the newest stays live.
UPDATE sessions SET revoked_at = now(), revoke_reason = 'replaced by a new re-authentication token'
WHERE kind = 'reauth' AND revoked_at IS NULL AND EXISTS (
    SELECT 1 FROM sessions AS newer
    WHERE newer.kind = 'reauth' AND newer.revoked_at IS NULL AND newer.user_id = sessions.user_id
      AND newer.device_name = sessions.device_name
      AND (newer.created_at, newer.id) > (sessions.created_at, sessions.id));
CREATE UNIQUE INDEX sessions_live_grant ON sessions(user_id, device_name) WHERE kind = 'reauth' AND revoked_at IS NULL;

-- Optional user names, unique per tenant compared case-insensitively
-- (username_key is NULL when there is none; NULLs do not collide).
ALTER TABLE users ADD COLUMN username text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN username_key text;
CREATE UNIQUE INDEX users_username ON users(tenant_id, username_key);
