package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const webhookCols = "id, tenant_id, url, events, signing, secret, status, consecutive_failures, created_at, updated_at"

func scanWebhook(s scanner) (*identity.WebhookEndpoint, error) {
	var w identity.WebhookEndpoint
	var events string
	var created, updated sql.NullInt64
	if err := s.Scan(&w.ID, &w.TenantID, &w.URL, &events, &w.Signing, &w.SecretSealed, &w.Status, &w.ConsecutiveFailures, &created, &updated); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = ts(created), ts(updated)
	return &w, unjs(events, &w.Events)
}

// CreateWebhook implements identity.WebhookStore.
func (db *DB) CreateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE events SET fanned_out = 1 WHERE tenant_id = ? AND fanned_out = 0
			AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = ?)`, w.TenantID, w.TenantID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO webhook_endpoints ("+webhookCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			w.ID, w.TenantID, w.URL, js(w.Events), w.Signing, w.SecretSealed, w.Status, w.ConsecutiveFailures, tm(w.CreatedAt), tm(w.UpdatedAt))
		if identity.ErrorCode(formatError(err)) == identity.ENOTFOUND {
			return notFound("tenant")
		}
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

// ListWebhooks implements identity.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, tenantID string) ([]*identity.WebhookEndpoint, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id", tenantID)
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

// UpdateWebhook implements identity.WebhookStore.
func (db *DB) UpdateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, events = ?, signing = ?, status = ?,
			consecutive_failures = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			w.URL, js(w.Events), w.Signing, w.Status, w.ConsecutiveFailures, tm(w.UpdatedAt), w.TenantID, w.ID)
		if err != nil {
			return err
		}
		return affected(res, "webhook endpoint")
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

// withEndpoints limits fan-out to the events of tenants that have an
// endpoint: the others' events are never touched again (no second write
// per event), and CreateWebhook marks a tenant's backlog when it gets its
// first endpoint, so that an endpoint never receives the past.
const withEndpoints = "tenant_id IN (SELECT tenant_id FROM webhook_endpoints)"

// FanOutEvents implements identity.WebhookStore.
func (db *DB) FanOutEvents(ctx context.Context, now time.Time, limit int) (int, error) {
	// A read first: the dispatcher asks often, and an empty answer must not
	// take the one writer connection that logins need.
	var pending int
	if err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_endpoints w
		WHERE EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = w.tenant_id AND e.fanned_out = 0))`).Scan(&pending); err != nil || pending == 0 {
		return 0, formatError(err)
	}
	n := 0
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var last string
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(id), '') FROM (SELECT id FROM events WHERE fanned_out = 0 AND `+withEndpoints+` ORDER BY id LIMIT ?)`,
			limit).Scan(&n, &last); err != nil || n == 0 {
			return err
		}
		// Deliveries for the subscribed endpoints, in one statement; the
		// endpoint's event list is a JSON array.
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type,
				user_id, event_at, next_attempt_at, created_at, updated_at)
			SELECT e.id || ':' || w.id, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at, ?1, ?1, ?1
			FROM events e JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id
			WHERE e.fanned_out = 0 AND e.id <= ?2 AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = e.type)
			ON CONFLICT (id) DO NOTHING`, tm(now), last); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE events SET fanned_out = 1 WHERE fanned_out = 0 AND "+withEndpoints+" AND id <= ?", last)
		return err
	})
	return n, err
}

const deliveryCols = `d.id, d.tenant_id, d.endpoint_id, d.event_id, d.event_type, d.user_id, d.event_at, d.status, d.attempts,
	d.next_attempt_at, d.last_status_code, d.last_error, d.payload, d.created_at, d.updated_at`

func scanDelivery(s scanner, extra ...any) (*identity.Delivery, error) {
	var d identity.Delivery
	var eventAt, next, created, updated sql.NullInt64
	dest := append([]any{&d.ID, &d.TenantID, &d.EndpointID, &d.EventID, &d.EventType, &d.UserID, &eventAt, &d.Status, &d.Attempts,
		&next, &d.LastStatusCode, &d.LastError, &d.Payload, &created, &updated}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	d.EventAt, d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = ts(eventAt), ts(next), ts(created), ts(updated)
	return &d, nil
}

// ClaimDeliveries implements identity.WebhookStore. The write transaction
// makes select-and-lease atomic; a lease that runs out (a crash) makes the
// delivery claimable again.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*identity.ClaimedDelivery, error) {
	var out []*identity.ClaimedDelivery
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryCols+`, `+"w."+strings.ReplaceAll(webhookCols, ", ", ", w.")+`
			FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.leased_until IS NULL OR d.leased_until <= ?)
				AND w.status != 'suspended'
			ORDER BY d.next_attempt_at LIMIT ?`, tm(now), tm(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			c := &identity.ClaimedDelivery{}
			var events string
			var wc, wu sql.NullInt64
			w := &c.Endpoint
			d, err := scanDelivery(rows, &w.ID, &w.TenantID, &w.URL, &events, &w.Signing, &w.SecretSealed, &w.Status, &w.ConsecutiveFailures, &wc, &wu)
			if err != nil {
				rows.Close()
				return err
			}
			c.Delivery, w.CreatedAt, w.UpdatedAt = *d, ts(wc), ts(wu)
			if err := unjs(events, &w.Events); err != nil {
				rows.Close()
				return err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range out {
			if _, err := tx.ExecContext(ctx, "UPDATE webhook_deliveries SET leased_until = ? WHERE id = ?", tm(now.Add(lease)), c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// FinishDelivery implements identity.WebhookStore.
func (db *DB) FinishDelivery(ctx context.Context, c *identity.ClaimedDelivery, r identity.DeliveryResult) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		a := r.Attempt
		if _, err := tx.ExecContext(ctx, "INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_us, error, response) VALUES (?, ?, ?, ?, ?, ?)",
			c.ID, tm(a.At), a.StatusCode, a.Duration.Microseconds(), a.Error, a.Response); err != nil {
			return err
		}
		status, next := r.Settle()
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?,
			leased_until = NULL, last_status_code = ?, last_error = ?, payload = ?, updated_at = ? WHERE id = ?`,
			status, tm(next), a.StatusCode, a.Error, r.Payload, tm(a.At), c.ID); err != nil {
			return err
		}
		if r.Delivered {
			_, err := tx.ExecContext(ctx, "UPDATE webhook_endpoints SET status = 'healthy', consecutive_failures = 0 WHERE id = ? AND status != 'suspended'", c.EndpointID)
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
			status = CASE WHEN status = 'suspended' OR consecutive_failures + 1 >= ? THEN 'suspended' ELSE 'unhealthy' END
			WHERE id = ?`, r.SuspendAfter, c.EndpointID)
		return err
	})
}

// ListDeliveries implements identity.WebhookStore.
func (db *DB) ListDeliveries(ctx context.Context, tenantID, endpointID string, p identity.Page) ([]*identity.Delivery, string, error) {
	before, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	q := "SELECT " + deliveryCols + " FROM webhook_deliveries d WHERE d.tenant_id = ? AND d.endpoint_id = ?"
	args := []any{tenantID, endpointID}
	if before != "" {
		q += " AND d.id < ?"
		args = append(args, before)
	}
	rows, err := db.r.QueryContext(ctx, q+" ORDER BY d.id DESC LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", formatError(err)
	}
	defer rows.Close()
	var out []*identity.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", formatError(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", formatError(err)
	}
	return rowcodec.Page(out, n, func(d *identity.Delivery) string { return d.ID })
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

// NextDeliveryAt implements identity.WebhookStore.
func (db *DB) NextDeliveryAt(ctx context.Context) (time.Time, error) {
	var next sql.NullInt64
	// A leased delivery is not due before its lease ends.
	err := db.r.QueryRowContext(ctx, `SELECT MIN(MAX(d.next_attempt_at, COALESCE(d.leased_until, 0))) FROM webhook_deliveries d
		JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.status = 'pending' AND w.status != 'suspended'`).Scan(&next)
	return ts(next), formatError(err)
}

// PendingDeliveries implements identity.WebhookStore.
func (db *DB) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'").Scan(&n)
	return n, formatError(err)
}

// PruneDeliveries implements identity.WebhookStore.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM webhook_deliveries WHERE status != 'pending' AND updated_at < ?", tm(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
