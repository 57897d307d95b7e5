-- Webhooks are delivered by a cursor per endpoint over the event log, so
-- that a delivered event costs no row.
--
-- A position in the log is (tx, id): tx is the inserting transaction's id.
-- Transactions commit out of id order, so a reader only takes events whose
-- tx is below the oldest transaction still running
-- (pg_snapshot_xmin(pg_current_snapshot())): all of those have committed
-- or aborted, and any event committed later has a larger tx, so none can
-- appear behind a cursor. Existing rows get tx 0.
ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX events_log ON events(tenant_id, tx, id);

-- Events a version-4 dispatcher had not yet fanned out become pending
-- deliveries (retries due now), so that none is lost in the change. The
-- column stays, defaulting to true, so that instances of the previous
-- version still rolling out neither fail nor fan out new events (and its
-- partial index stays empty).
INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at, next_attempt_at, created_at, updated_at)
SELECT e.id || ':' || w.id, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at, e.created_at, e.created_at, e.created_at
FROM events e JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.events ? e.type
WHERE NOT e.fanned_out
ON CONFLICT (id) DO NOTHING;
UPDATE events SET fanned_out = true WHERE NOT fanned_out;
ALTER TABLE events ALTER COLUMN fanned_out SET DEFAULT true;

-- An endpoint's cursor (every event of its tenant up to (cursor_tx,
-- cursor_id) is settled), its lease (one instance delivers it at a time)
-- and its health by time.
ALTER TABLE webhook_endpoints
    ADD COLUMN cursor_tx     xid8 NOT NULL DEFAULT '0',
    ADD COLUMN cursor_id     text NOT NULL DEFAULT '',
    ADD COLUMN leased_by     text NOT NULL DEFAULT '',
    ADD COLUMN leased_until  timestamptz,
    ADD COLUMN retry_at      timestamptz,
    ADD COLUMN failing_since timestamptz;
UPDATE webhook_endpoints SET cursor_id = COALESCE((SELECT max(id) FROM events), '');
UPDATE webhook_endpoints SET failing_since = updated_at WHERE status != 'healthy';

CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries(endpoint_id, next_attempt_at) WHERE status = 'pending';
