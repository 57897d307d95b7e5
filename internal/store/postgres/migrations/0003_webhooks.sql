-- Webhook endpoints and deliveries. Events are the outbox: written in the
-- login's transaction, fanned out into deliveries afterwards. Events
-- recorded before this version are marked fanned out.
ALTER TABLE events ADD COLUMN fanned_out boolean NOT NULL DEFAULT false;
UPDATE events SET fanned_out = true;
CREATE INDEX events_unfanned ON events(tenant_id, id) WHERE NOT fanned_out;

CREATE TABLE webhook_endpoints (
    id                   text PRIMARY KEY,
    tenant_id            text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url                  text NOT NULL,
    events               jsonb NOT NULL DEFAULT '[]',
    signing              text NOT NULL,
    secret               bytea NOT NULL,
    status               text NOT NULL DEFAULT 'healthy',
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints(tenant_id, id);

CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    user_id          text NOT NULL DEFAULT '',
    event_at         timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    leased_until     timestamptz,
    last_status_code integer NOT NULL DEFAULT 0,
    last_error       text NOT NULL DEFAULT '',
    payload          bytea,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id text NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    status_code integer NOT NULL DEFAULT 0,
    duration_us bigint NOT NULL,
    error       text NOT NULL DEFAULT '',
    response    text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, at);
