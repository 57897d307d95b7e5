-- latch schema, version 4: webhook endpoints and deliveries. Events are
-- the outbox: written in the login's transaction, fanned out into
-- deliveries afterwards. Events recorded before this version are marked
-- fanned out, so that new endpoints do not receive the past.
ALTER TABLE events ADD COLUMN fanned_out INTEGER NOT NULL DEFAULT 0;
UPDATE events SET fanned_out = 1;
CREATE INDEX events_unfanned ON events(tenant_id, id) WHERE fanned_out = 0;

CREATE TABLE webhook_endpoints (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url                  TEXT NOT NULL,
    events               TEXT NOT NULL DEFAULT '[]',
    signing              TEXT NOT NULL,
    secret               BLOB NOT NULL,
    status               TEXT NOT NULL DEFAULT 'healthy',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints(tenant_id, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    user_id          TEXT NOT NULL DEFAULT '',
    event_at         INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    leased_until     INTEGER,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    payload          BLOB,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    duration_us INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, at);
