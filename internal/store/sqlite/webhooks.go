package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

const webhookCols = "id, tenant_id, url, events, signing, secret, status, consecutive_failures, failing_since, retry_at, created_at, updated_at, cursor_seq"

func scanWebhook(s sqlstore.Row) (*identity.WebhookEndpoint, error) {
	var w identity.WebhookEndpoint
	var events string
	var failing, retry, created, updated sqlstore.Time
	var cursor int64
	if err := s.Scan(&w.ID, &w.TenantID, &w.URL, &events, &w.Signing, &w.SecretSealed, &w.Status, &w.ConsecutiveFailures,
		&failing, &retry, &created, &updated, &cursor); err != nil {
		return nil, err
	}
	w.FailingSince, w.RetryAt, w.CreatedAt, w.UpdatedAt = failing.Time, retry.Time, created.Time, updated.Time
	w.Cursor = strconv.FormatInt(cursor, 10)
	return &w, sqlstore.FromJSON(events, &w.Events)
}

// position decodes a cursor: the seq of the last settled event.
func position(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n < 0 {
		return 0, &identity.Error{Code: identity.EINVALID, Message: "malformed event log position " + strconv.Quote(cursor)}
	}
	return n, nil
}

// CreateWebhook implements identity.WebhookStore. AUTOINCREMENT makes
// every later event's seq larger than today's largest.
func (db *DB) CreateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var cursor int64
		err := tx.QueryRowContext(ctx, "INSERT INTO webhook_endpoints (id, tenant_id, url, events, signing, secret, status, consecutive_failures, created_at, updated_at, cursor_seq) "+
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM events)) RETURNING cursor_seq",
			w.ID, w.TenantID, w.URL, js(w.Events), w.Signing, w.SecretSealed, w.Status, w.ConsecutiveFailures, tm(w.CreatedAt), tm(w.UpdatedAt)).Scan(&cursor)
		if identity.ErrorCode(formatError(err)) == identity.ENOTFOUND {
			return notFound("tenant")
		}
		w.Cursor = strconv.FormatInt(cursor, 10)
		return err
	})
}

// GetWebhook implements identity.WebhookStore.
func (db *DB) GetWebhook(ctx context.Context, tenantID, id string) (*identity.WebhookEndpoint, error) {
	w, err := scanWebhook(db.r.QueryRowContext(ctx, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE tenant_id = ? AND id = ?", tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("webhook endpoint")
	}
	return w, formatError(err)
}

// querier is what a pool and a transaction share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryWebhooks(ctx context.Context, q querier, query string, args ...any) ([]*identity.WebhookEndpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	return collect(rows, err, scanWebhook)
}

// ListWebhooks implements identity.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, tenantID string) ([]*identity.WebhookEndpoint, error) {
	return queryWebhooks(ctx, db.r, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id", tenantID)
}

// UpdateWebhook implements identity.WebhookStore.
func (db *DB) UpdateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, events = ?, signing = ?, status = ?,
			consecutive_failures = ?, failing_since = ?, retry_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			w.URL, js(w.Events), w.Signing, w.Status, w.ConsecutiveFailures, tm(w.FailingSince), tm(w.RetryAt), tm(w.UpdatedAt), w.TenantID, w.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, notFound("webhook endpoint"))
		}
		_, err = tx.ExecContext(ctx, "UPDATE webhook_deliveries SET next_attempt_at = ?1 WHERE endpoint_id = ?2 AND status = 'pending' AND next_attempt_at > ?1",
			tm(w.UpdatedAt), w.ID)
		return err
	})
}

// hasWork is the condition on an endpoint w, at ?1 = now, that it has
// something to send: a due retry, or (its stream not held back after a
// failure) events after its cursor.
const hasWork = `w.status != 'suspended' AND (
	EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= ?1)
	OR (COALESCE(w.retry_at, 0) <= ?1 AND EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = w.tenant_id AND e.seq > w.cursor_seq)))`

// claimableSQL finds endpoints with work that nobody holds (prepared: the
// dispatcher asks after logins, and parsing costs more than answering).
const claimableSQL = `SELECT w.id FROM webhook_endpoints w WHERE (w.leased_until IS NULL OR w.leased_until <= ?1) AND ` + hasWork + ` LIMIT ?2`

// ClaimEndpoints implements identity.WebhookStore. A read on the pool
// first: the dispatcher asks often, and "nothing to do" must not take the
// one writer that logins need. The write re-checks the lease, so that of
// two processes on one file each endpoint goes to one.
func (db *DB) ClaimEndpoints(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*identity.WebhookEndpoint, error) {
	rows, err := db.claimable.QueryContext(ctx, tm(now), limit)
	ids, err := collect(rows, err, func(r sqlstore.Row) (any, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []*identity.WebhookEndpoint
	err = db.tx(ctx, func(tx *sql.Tx) error {
		args := append([]any{owner, tm(now.Add(lease)), tm(now)}, ids...)
		out, err = queryWebhooks(ctx, tx, `UPDATE webhook_endpoints SET leased_by = ?, leased_until = ?
			WHERE (leased_until IS NULL OR leased_until <= ?) AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) RETURNING `+webhookCols, args...)
		return err
	})
	return out, err
}

const readEventsSQL = `SELECT e.seq, e.id, e.tenant_id, e.user_id, e.type, e.created_at
	FROM webhook_endpoints w JOIN events e ON e.tenant_id = w.tenant_id
	WHERE w.id = ? AND w.leased_by = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`

// ReadEvents implements identity.WebhookStore. One writer assigns seq
// under its lock, so seq order is commit order: nothing can appear behind
// a position once it has been read.
func (db *DB) ReadEvents(ctx context.Context, owner, endpointID, after string, limit int) ([]*identity.LogEvent, error) {
	pos, err := position(after)
	if err != nil {
		return nil, err
	}
	rows, err := db.readEvents.QueryContext(ctx, endpointID, owner, pos, limit)
	return collect(rows, err, func(r sqlstore.Row) (*identity.LogEvent, error) {
		var e identity.LogEvent
		var seq int64
		var at sqlstore.Time
		err := r.Scan(&seq, &e.ID, &e.TenantID, &e.UserID, &e.Type, &at)
		e.Position, e.CreatedAt = strconv.FormatInt(seq, 10), at.Time
		return &e, err
	})
}

// SaveCursor implements identity.WebhookStore.
func (db *DB) SaveCursor(ctx context.Context, owner, endpointID, cursor string, now time.Time, lease time.Duration) (*identity.WebhookEndpoint, error) {
	pos, err := position(cursor)
	if err != nil {
		return nil, err
	}
	var out *identity.WebhookEndpoint
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanWebhook(tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET cursor_seq = MAX(cursor_seq, ?), leased_until = ?
			WHERE id = ? AND leased_by = ? RETURNING `+webhookCols, pos, tm(now.Add(lease)), endpointID, owner))
		if errors.Is(err, sql.ErrNoRows) {
			return leaseLost(ctx, tx, endpointID)
		}
		return err
	})
	return out, err
}

// leaseLost tells a gone endpoint (ENOTFOUND) from a lease taken over
// (ECONFLICT).
func leaseLost(ctx context.Context, tx *sql.Tx, endpointID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_endpoints WHERE id = ?", endpointID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return notFound("webhook endpoint")
	}
	return &identity.Error{Code: identity.ECONFLICT, Message: "the endpoint's lease is held by another dispatcher"}
}

// ReleaseEndpoint implements identity.WebhookStore.
func (db *DB) ReleaseEndpoint(ctx context.Context, owner, endpointID, cursor string) error {
	pos, err := position(cursor)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET cursor_seq = MAX(cursor_seq, ?), leased_by = '', leased_until = NULL
			WHERE id = ? AND leased_by = ?`, pos, endpointID, owner)
		return err
	})
}

// PruneEvents implements identity.WebhookStore. The scan runs on the
// read pool in seq (commit, hence time) order and stops at the first
// recent event, so that neither a long table nor events kept for a
// suspended endpoint hold the writer; the delete is by seq.
func (db *DB) PruneEvents(ctx context.Context, before time.Time, after string, limit int) (int, string, error) {
	from, err := position(after)
	if err != nil {
		return 0, "", err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT e.seq, e.created_at < ?,
			EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = e.tenant_id AND e.seq > w.cursor_seq)
		FROM events e WHERE e.seq > ? ORDER BY e.seq LIMIT ?`, tm(before), from, limit)
	doomed, last, more, err := sqlstore.Doomed[any](sqlRows{rows}, err, limit)
	if err != nil {
		return 0, "", formatError(err)
	}
	next := ""
	if more {
		next = strconv.FormatInt(last.(int64), 10)
	}
	if len(doomed) == 0 {
		return 0, next, nil
	}
	var n int64
	err = db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq IN (?`+strings.Repeat(", ?", len(doomed)-1)+`)
			AND NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = events.tenant_id AND events.seq > w.cursor_seq)`, doomed...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), next, err
}

// Redeliver implements identity.WebhookStore (sqlstore.WriteRedelivery).
func (db *DB) Redeliver(ctx context.Context, tenantID, endpointID, eventID string, now time.Time) (*identity.Delivery, error) {
	var d *identity.Delivery
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = db.WriteRedelivery(ctx, conn{tx}, tenantID, endpointID, eventID, now)
		return err
	})
	return d, err
}
