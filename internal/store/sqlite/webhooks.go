package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const webhookCols = "id, tenant_id, url, events, signing, secret, status, consecutive_failures, failing_since, retry_at, created_at, updated_at, cursor_seq"

func scanWebhook(s scanner) (*identity.WebhookEndpoint, error) {
	var w identity.WebhookEndpoint
	var events string
	var failing, retry, created, updated sql.NullInt64
	var cursor int64
	if err := s.Scan(&w.ID, &w.TenantID, &w.URL, &events, &w.Signing, &w.SecretSealed, &w.Status, &w.ConsecutiveFailures,
		&failing, &retry, &created, &updated, &cursor); err != nil {
		return nil, err
	}
	w.FailingSince, w.RetryAt, w.CreatedAt, w.UpdatedAt = ts(failing), ts(retry), ts(created), ts(updated)
	w.Cursor = strconv.FormatInt(cursor, 10)
	return &w, unjs(events, &w.Events)
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

func (db *DB) queryWebhooks(ctx context.Context, q querier, query string, args ...any) ([]*identity.WebhookEndpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []*identity.WebhookEndpoint
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, formatError(err)
		}
		out = append(out, w)
	}
	return out, formatError(rows.Err())
}

// querier is what a pool and a transaction share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ListWebhooks implements identity.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, tenantID string) ([]*identity.WebhookEndpoint, error) {
	return db.queryWebhooks(ctx, db.r, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id", tenantID)
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
		if err := affected(res, "webhook endpoint"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE webhook_deliveries SET next_attempt_at = ?1 WHERE endpoint_id = ?2 AND status = 'pending' AND next_attempt_at > ?1",
			tm(w.UpdatedAt), w.ID)
		return err
	})
}

// DeleteWebhook implements identity.WebhookStore.
func (db *DB) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM webhook_endpoints WHERE tenant_id = ? AND id = ?", tenantID, id)
		if err != nil {
			return err
		}
		return affected(res, "webhook endpoint")
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
	if err != nil {
		return nil, formatError(err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, formatError(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, formatError(err)
	}
	var out []*identity.WebhookEndpoint
	err = db.tx(ctx, func(tx *sql.Tx) error {
		args := append([]any{owner, tm(now.Add(lease)), tm(now)}, ids...)
		out, err = db.queryWebhooks(ctx, tx, `UPDATE webhook_endpoints SET leased_by = ?, leased_until = ?
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
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []*identity.LogEvent
	for rows.Next() {
		var e identity.LogEvent
		var seq int64
		var at sql.NullInt64
		if err := rows.Scan(&seq, &e.ID, &e.TenantID, &e.UserID, &e.Type, &at); err != nil {
			return nil, formatError(err)
		}
		e.Position, e.CreatedAt = strconv.FormatInt(seq, 10), ts(at)
		out = append(out, &e)
	}
	return out, formatError(rows.Err())
}

const deliveryCols = `id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at, status, attempts,
	next_attempt_at, last_status_code, last_error, payload, created_at, updated_at`

func scanDelivery(s scanner) (*identity.Delivery, error) {
	var d identity.Delivery
	var eventAt, next, created, updated sql.NullInt64
	if err := s.Scan(&d.ID, &d.TenantID, &d.EndpointID, &d.EventID, &d.EventType, &d.UserID, &eventAt, &d.Status, &d.Attempts,
		&next, &d.LastStatusCode, &d.LastError, &d.Payload, &created, &updated); err != nil {
		return nil, err
	}
	d.EventAt, d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = ts(eventAt), ts(next), ts(created), ts(updated)
	return &d, nil
}

func (db *DB) queryDeliveries(ctx context.Context, query string, args ...any) ([]*identity.Delivery, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []*identity.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, formatError(err)
		}
		out = append(out, d)
	}
	return out, formatError(rows.Err())
}

// DueDeliveries implements identity.WebhookStore.
func (db *DB) DueDeliveries(ctx context.Context, endpointID string, now time.Time, limit int) ([]*identity.Delivery, time.Time, error) {
	due, err := db.queryDeliveries(ctx, "SELECT "+deliveryCols+` FROM webhook_deliveries
		WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`, endpointID, tm(now), limit)
	if err != nil {
		return nil, time.Time{}, err
	}
	var next sql.NullInt64
	err = db.r.QueryRowContext(ctx, "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at > ?",
		endpointID, tm(now)).Scan(&next)
	return due, ts(next), formatError(err)
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

// RecordAttempt implements identity.WebhookStore.
func (db *DB) RecordAttempt(ctx context.Context, r *identity.AttemptRecord) (*identity.EndpointHealth, error) {
	var h identity.EndpointHealth
	err := db.tx(ctx, func(tx *sql.Tx) error {
		d, a := &r.Delivery, &r.Attempt
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at, status,
				attempts, next_attempt_at, last_status_code, last_error, payload, created_at, updated_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?11, ?12, ?14, ?13)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = attempts + 1, next_attempt_at = excluded.next_attempt_at,
				last_status_code = excluded.last_status_code, last_error = excluded.last_error,
				payload = COALESCE(payload, excluded.payload), updated_at = excluded.updated_at`,
			d.ID, d.TenantID, d.EndpointID, d.EventID, d.EventType, d.UserID, tm(d.EventAt), d.Status,
			tm(settleTime(r)), a.StatusCode, a.Error, d.Payload, tm(a.At), tm(createdAt(r))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_us, error, response) VALUES (?, ?, ?, ?, ?, ?)",
			d.ID, tm(a.At), a.StatusCode, a.Duration.Microseconds(), a.Error, a.Response); err != nil {
			return err
		}
		var failing, retry sql.NullInt64
		var row *sql.Row
		if r.Delivered() {
			// The receiver is back after a real outage: its retries go now.
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?1
				WHERE endpoint_id = ?2 AND status = 'pending' AND next_attempt_at > ?1
					AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?2 AND failing_since <= ?3)`,
				tm(a.At), d.EndpointID, tm(a.At.Add(-r.RecoveredAfter))); err != nil {
				return err
			}
			row = tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET status = CASE WHEN status = 'suspended' THEN status ELSE 'healthy' END,
				consecutive_failures = 0, failing_since = NULL, retry_at = NULL WHERE id = ?
				RETURNING status, consecutive_failures, failing_since, retry_at`, d.EndpointID)
		} else {
			row = tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
				failing_since = COALESCE(failing_since, ?1), retry_at = ?2,
				status = CASE WHEN status = 'suspended' OR ?1 - COALESCE(failing_since, ?1) >= ?3 THEN 'suspended' ELSE 'unhealthy' END
				WHERE id = ?4 RETURNING status, consecutive_failures, failing_since, retry_at`,
				tm(a.At), tm(r.RetryAt), r.SuspendAfter.Microseconds(), d.EndpointID)
		}
		err := row.Scan(&h.Status, &h.ConsecutiveFailures, &failing, &retry)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("webhook endpoint")
		}
		h.FailingSince, h.RetryAt = ts(failing), ts(retry)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// createdAt is a new delivery row's created_at: the event's time, as
// the deliveries listed from the log show it.
func createdAt(r *identity.AttemptRecord) time.Time {
	if r.Delivery.CreatedAt.IsZero() {
		return r.Attempt.At
	}
	return r.Delivery.CreatedAt
}

// settleTime is a delivery row's next_attempt_at: when it is due again if
// pending, else when it was settled.
func settleTime(r *identity.AttemptRecord) time.Time {
	if r.Delivery.Status == identity.DeliveryPending {
		return r.Delivery.NextAttemptAt
	}
	return r.Attempt.At
}

// ListDeliveries implements identity.WebhookStore: the endpoint's
// delivery rows, and the log's view of the events of its types since its
// creation that have none.
func (db *DB) ListDeliveries(ctx context.Context, tenantID, endpointID string, p identity.Page) ([]*identity.Delivery, string, error) {
	// The page cursor is the event id: an endpoint's delivery ids differ
	// only by it.
	before, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	out, err := db.queryDeliveries(ctx, `SELECT `+deliveryCols+` FROM (
		SELECT `+deliveryCols+` FROM webhook_deliveries WHERE tenant_id = ?1 AND endpoint_id = ?2 AND (?3 = '' OR event_id < ?3)
		UNION ALL
		SELECT e.id || ':' || w.id, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at,
			CASE WHEN e.seq <= w.cursor_seq THEN 'delivered' ELSE 'pending' END,
			CASE WHEN e.seq <= w.cursor_seq THEN 1 ELSE 0 END,
			CASE WHEN e.seq <= w.cursor_seq THEN NULL ELSE MAX(e.created_at, COALESCE(w.retry_at, 0)) END,
			0, '', NULL, e.created_at, e.created_at
		FROM webhook_endpoints w JOIN events e ON e.tenant_id = w.tenant_id
		WHERE w.tenant_id = ?1 AND w.id = ?2 AND e.created_at >= w.created_at AND (?3 = '' OR e.id < ?3)
			AND e.type IN (SELECT value FROM json_each(w.events))
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = e.id || ':' || w.id)
	) ORDER BY id DESC LIMIT ?4`, tenantID, endpointID, before, n+1)
	if err != nil {
		return nil, "", err
	}
	return rowcodec.Page(out, n, func(d *identity.Delivery) string { return d.EventID })
}

// ListDeliveryAttempts implements identity.WebhookStore.
func (db *DB) ListDeliveryAttempts(ctx context.Context, deliveryID string) ([]*identity.DeliveryAttempt, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT delivery_id, at, status_code, duration_us, error, response FROM webhook_attempts WHERE delivery_id = ? ORDER BY at DESC LIMIT 100", deliveryID)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []*identity.DeliveryAttempt
	for rows.Next() {
		var a identity.DeliveryAttempt
		var at sql.NullInt64
		var us int64
		if err := rows.Scan(&a.DeliveryID, &at, &a.StatusCode, &us, &a.Error, &a.Response); err != nil {
			return nil, formatError(err)
		}
		a.At, a.Duration = ts(at), time.Duration(us)*time.Microsecond
		out = append(out, &a)
	}
	return out, formatError(rows.Err())
}

// backlogCap bounds the events counted per endpoint by PendingDeliveries,
// so that a scrape stays cheap behind a long-suspended endpoint.
const backlogCap = 100_000

// PendingDeliveries implements identity.WebhookStore.
func (db *DB) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending')
		+ COALESCE((SELECT SUM((SELECT COUNT(*) FROM (SELECT 1 FROM events e WHERE e.tenant_id = w.tenant_id AND e.seq > w.cursor_seq
			AND e.type IN (SELECT value FROM json_each(w.events)) LIMIT ?))) FROM webhook_endpoints w), 0)`, backlogCap).Scan(&n)
	return n, formatError(err)
}

// PruneDeliveries implements identity.WebhookStore.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
			SELECT id FROM webhook_deliveries WHERE status != 'pending' AND updated_at < ? LIMIT ?)`, tm(before), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
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
	if err != nil {
		return 0, "", formatError(err)
	}
	var doomed []any
	var last int64
	scanned, reached := 0, false
	for rows.Next() {
		var seq int64
		var old, kept bool
		if err := rows.Scan(&seq, &old, &kept); err != nil {
			rows.Close()
			return 0, "", formatError(err)
		}
		if !old {
			reached = true
			break
		}
		scanned, last = scanned+1, seq
		if !kept {
			doomed = append(doomed, seq)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, "", formatError(err)
	}
	next := ""
	if !reached && scanned == limit {
		next = strconv.FormatInt(last, 10)
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
