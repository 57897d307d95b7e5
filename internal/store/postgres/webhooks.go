package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

const webhookCols = "webhook_endpoints.id, webhook_endpoints.tenant_id, webhook_endpoints.url, webhook_endpoints.events::text, " +
	"webhook_endpoints.signing, webhook_endpoints.secret, webhook_endpoints.status, webhook_endpoints.consecutive_failures, " +
	"webhook_endpoints.failing_since, webhook_endpoints.retry_at, webhook_endpoints.created_at, webhook_endpoints.updated_at, " +
	"webhook_endpoints.cursor_tx::text, webhook_endpoints.cursor_id"

func scanWebhook(r sqlstore.Row) (*identity.WebhookEndpoint, error) {
	var w identity.WebhookEndpoint
	var events, cursorTx, cursorID string
	var failing, retry, created, updated sqlstore.Time
	if err := r.Scan(&w.ID, &w.TenantID, &w.URL, &events, &w.Signing, &w.SecretSealed, &w.Status, &w.ConsecutiveFailures,
		&failing, &retry, &created, &updated, &cursorTx, &cursorID); err != nil {
		return nil, err
	}
	w.FailingSince, w.RetryAt, w.CreatedAt, w.UpdatedAt = failing.Time, retry.Time, created.Time, updated.Time
	w.Cursor = cursorTx + "/" + cursorID
	return &w, sqlstore.FromJSON(events, &w.Events)
}

// position decodes a cursor, "tx/id": the last settled event's
// transaction id and event id.
func position(cursor string) (tx, id string, err error) {
	if cursor == "" {
		return "0", "", nil
	}
	tx, id, ok := strings.Cut(cursor, "/")
	if !ok || tx == "" || strings.Trim(tx, "0123456789") != "" || len(tx) > 20 {
		return "", "", &identity.Error{Code: identity.EINVALID, Message: fmt.Sprintf("malformed event log position %q", cursor)}
	}
	return tx, id, nil
}

// horizon is the oldest transaction still running: every event whose tx
// is below it has committed (or never will), and any event that commits
// later has a tx at or above it. Evaluated once per statement.
const horizon = "(SELECT pg_snapshot_xmin(pg_current_snapshot()))"

// CreateWebhook implements identity.WebhookStore. The cursor starts at the
// snapshot's xmax, the first transaction id not yet assigned: every event
// committed before lies below it, every transaction that writes after it
// is at or above it. (A login that had already written when the endpoint
// was created, and commits just after, is not sent to it.)
func (db *DB) CreateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	var tx, id string
	err := db.pool.QueryRow(ctx, `INSERT INTO webhook_endpoints (id, tenant_id, url, events, signing, secret, status,
			consecutive_failures, created_at, updated_at, cursor_tx, cursor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			pg_snapshot_xmax(pg_current_snapshot()), '')
		RETURNING cursor_tx::text, cursor_id`,
		w.ID, w.TenantID, w.URL, js(w.Events), w.Signing, w.SecretSealed, w.Status, w.ConsecutiveFailures, w.CreatedAt.UTC(), w.UpdatedAt.UTC()).Scan(&tx, &id)
	if err := formatError(err); err != nil {
		if identity.ErrorCode(err) == identity.ENOTFOUND {
			return notFound("tenant")
		}
		return err
	}
	w.Cursor = tx + "/" + id
	return nil
}

// GetWebhook implements identity.WebhookStore.
func (db *DB) GetWebhook(ctx context.Context, tenantID, id string) (*identity.WebhookEndpoint, error) {
	w, err := scanWebhook(db.pool.QueryRow(ctx, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if noRows(err) {
		return nil, notFound("webhook endpoint")
	}
	return w, formatError(err)
}

// ListWebhooks implements identity.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, tenantID string) ([]*identity.WebhookEndpoint, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id", tenantID)
	return collect(rows, err, scanWebhook)
}

// UpdateWebhook implements identity.WebhookStore; it wakes the
// dispatchers, since a re-enabled endpoint may have work waiting.
func (db *DB) UpdateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET url = $1, events = $2, signing = $3, status = $4,
			consecutive_failures = $5, failing_since = $6, retry_at = $7, updated_at = $8 WHERE tenant_id = $9 AND id = $10`,
			w.URL, js(w.Events), w.Signing, w.Status, w.ConsecutiveFailures, tp(w.FailingSince), tp(w.RetryAt), w.UpdatedAt.UTC(), w.TenantID, w.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("webhook endpoint")
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1
			WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at > $1`, w.UpdatedAt.UTC(), w.ID); err != nil {
			return err
		}
		return notifyWebhooks(ctx, tx)
	})
}

// webhookChannel is the LISTEN/NOTIFY channel that wakes the dispatchers
// of every instance when an endpoint may have work again.
const webhookChannel = "latch_webhooks"

// notifyWebhooks wakes every instance's dispatcher when tx commits.
func notifyWebhooks(ctx context.Context, q querier) error {
	_, err := q.Exec(ctx, "SELECT pg_notify($1, current_schema())", webhookChannel)
	return err
}

// ListenWebhooks calls wake whenever any instance on this database (and
// schema) re-enables or changes an endpoint, until ctx ends. A lost
// connection is re-established; the dispatcher's poll covers the gap.
func (db *DB) ListenWebhooks(ctx context.Context, wake func()) {
	for ctx.Err() == nil {
		db.listen(ctx, wake) // returns on a lost connection; try again
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (db *DB) listen(ctx context.Context, wake func()) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection is dedicated to LISTEN: it goes back closed, not to
	// the pool, so that no query inherits the subscription.
	defer func() { conn.Conn().Close(context.Background()); conn.Release() }()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+webhookChannel); err != nil {
		return err
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == schema {
			wake()
		}
	}
}

// ClaimEndpoints implements identity.WebhookStore in one statement: FOR
// UPDATE SKIP LOCKED gives each endpoint to one caller across instances
// (a row another caller leased meanwhile fails the re-checked lease
// condition), and when nothing has work nothing is written.
func (db *DB) ClaimEndpoints(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*identity.WebhookEndpoint, error) {
	rows, err := db.pool.Query(ctx, `UPDATE webhook_endpoints SET leased_by = $1, leased_until = $2 WHERE id IN (
		SELECT w.id FROM webhook_endpoints w
		WHERE (w.leased_until IS NULL OR w.leased_until <= $3) AND w.status != 'suspended' AND (
			EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $3)
			OR (coalesce(w.retry_at, '-infinity') <= $3 AND EXISTS (SELECT 1 FROM events e
				WHERE e.tenant_id = w.tenant_id AND (e.tx, e.id) > (w.cursor_tx, w.cursor_id) AND e.tx < `+horizon+`)))
		LIMIT $4 FOR UPDATE OF w SKIP LOCKED
	) AND (leased_until IS NULL OR leased_until <= $3) RETURNING `+webhookCols,
		owner, now.Add(lease).UTC(), now.UTC(), limit)
	return collect(rows, err, scanWebhook)
}

// ReadEvents implements identity.WebhookStore.
func (db *DB) ReadEvents(ctx context.Context, owner, endpointID, after string, limit int) ([]*identity.LogEvent, error) {
	tx, id, err := position(after)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT e.tx::text, e.id, e.tenant_id, e.user_id, e.type, e.created_at
		FROM webhook_endpoints w JOIN events e ON e.tenant_id = w.tenant_id
		WHERE w.id = $1 AND w.leased_by = $2 AND (e.tx, e.id) > ($3::text::xid8, $4) AND e.tx < `+horizon+`
		ORDER BY e.tx, e.id LIMIT $5`, endpointID, owner, tx, id, limit)
	return collect(rows, err, func(r sqlstore.Row) (*identity.LogEvent, error) {
		var e identity.LogEvent
		var tx string
		if err := r.Scan(&tx, &e.ID, &e.TenantID, &e.UserID, &e.Type, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.Position, e.CreatedAt = tx+"/"+e.ID, e.CreatedAt.UTC()
		return &e, nil
	})
}

// SaveCursor implements identity.WebhookStore.
func (db *DB) SaveCursor(ctx context.Context, owner, endpointID, cursor string, now time.Time, lease time.Duration) (*identity.WebhookEndpoint, error) {
	tx, id, err := position(cursor)
	if err != nil {
		return nil, err
	}
	w, err := scanWebhook(db.pool.QueryRow(ctx, `UPDATE webhook_endpoints SET
			cursor_tx = CASE WHEN (cursor_tx, cursor_id) < ($1::text::xid8, $2) THEN $1::text::xid8 ELSE cursor_tx END,
			cursor_id = CASE WHEN (cursor_tx, cursor_id) < ($1::text::xid8, $2) THEN $2 ELSE cursor_id END,
			leased_until = $3
		WHERE id = $4 AND leased_by = $5 RETURNING `+webhookCols, tx, id, now.Add(lease).UTC(), endpointID, owner))
	if noRows(err) {
		var exists bool
		if err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $1)", endpointID).Scan(&exists); err != nil {
			return nil, formatError(err)
		}
		if !exists {
			return nil, notFound("webhook endpoint")
		}
		return nil, &identity.Error{Code: identity.ECONFLICT, Message: "the endpoint's lease is held by another dispatcher"}
	}
	return w, formatError(err)
}

// ReleaseEndpoint implements identity.WebhookStore.
func (db *DB) ReleaseEndpoint(ctx context.Context, owner, endpointID, cursor string) error {
	tx, id, err := position(cursor)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `UPDATE webhook_endpoints SET
			cursor_tx = CASE WHEN (cursor_tx, cursor_id) < ($1::text::xid8, $2) THEN $1::text::xid8 ELSE cursor_tx END,
			cursor_id = CASE WHEN (cursor_tx, cursor_id) < ($1::text::xid8, $2) THEN $2 ELSE cursor_id END,
			leased_by = '', leased_until = NULL
		WHERE id = $3 AND leased_by = $4`, tx, id, endpointID, owner)
	return formatError(err)
}

// PruneEvents implements identity.WebhookStore. Event ids are UUIDv7,
// which begin with their millisecond: walking the primary key is walking
// time, so the scan needs no index on created_at (which every login would
// pay for) and stops at the first recent event.
func (db *DB) PruneEvents(ctx context.Context, before time.Time, after string, limit int) (int, string, error) {
	rows, err := db.pool.Query(ctx, `SELECT e.id, e.created_at < $1,
			EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = e.tenant_id AND (e.tx, e.id) > (w.cursor_tx, w.cursor_id))
		FROM events e WHERE e.id > $2 ORDER BY e.id LIMIT $3`, before.UTC(), after, limit)
	doomed, last, more, err := sqlstore.Doomed[string](rows, err, limit)
	if err != nil {
		return 0, "", formatError(err)
	}
	next := ""
	if more {
		next = last
	}
	if len(doomed) == 0 {
		return 0, next, nil
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM events e WHERE e.id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = e.tenant_id AND (e.tx, e.id) > (w.cursor_tx, w.cursor_id))`, doomed)
	return int(tag.RowsAffected()), next, formatError(err)
}

// Redeliver implements identity.WebhookStore (sqlstore.WriteRedelivery);
// it wakes the dispatchers of every instance.
func (db *DB) Redeliver(ctx context.Context, tenantID, endpointID, eventID string, now time.Time) (*identity.Delivery, error) {
	var d *identity.Delivery
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if d, err = db.WriteRedelivery(ctx, conn{tx}, tenantID, endpointID, eventID, now); err != nil {
			return err
		}
		return notifyWebhooks(ctx, tx)
	})
	return d, err
}
