-- latch schema, version 6: webhooks are delivered by a cursor per endpoint
-- over the event log, so that a delivered event costs no row.
--
-- The log needs a position that only grows in commit order and is never
-- reused: a rowid is reused once the newest rows are deleted (a tenant's
-- deletion, retention), which could put a new event behind a cursor. So
-- events are rebuilt with seq INTEGER PRIMARY KEY AUTOINCREMENT, assigned
-- under the one writer, in id (time) order for the existing rows.

-- Events a version-5 dispatcher had not yet fanned out become pending
-- deliveries (retries due now), so that none is lost in the change.
INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at, next_attempt_at, created_at, updated_at)
SELECT e.id || ':' || w.id, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at, e.created_at, e.created_at, e.created_at
FROM events e JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id
WHERE e.fanned_out = 0 AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = e.type)
ON CONFLICT (id) DO NOTHING;

CREATE TABLE events_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO events_log (id, tenant_id, user_id, session_id, type, created_at, data)
SELECT id, tenant_id, user_id, session_id, type, created_at, data FROM events ORDER BY id;
DROP TABLE events;
ALTER TABLE events_log RENAME TO events;
CREATE INDEX events_tenant ON events(tenant_id, id);
-- (tenant_id, seq): an index holds the rowid, which seq is.
CREATE INDEX events_tenant_seq ON events(tenant_id);

-- An endpoint's cursor (every event of its tenant up to seq is settled),
-- its lease (one instance delivers it at a time) and its health by time.
ALTER TABLE webhook_endpoints ADD COLUMN cursor_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN leased_by TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN leased_until INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN retry_at INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN failing_since INTEGER;
UPDATE webhook_endpoints SET cursor_seq = (SELECT COALESCE(MAX(seq), 0) FROM events);
UPDATE webhook_endpoints SET failing_since = updated_at WHERE status != 'healthy';

CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries(endpoint_id, next_attempt_at) WHERE status = 'pending';
