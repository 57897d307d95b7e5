package sqlstore

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// DeliveryCols are a delivery row's columns as ScanDelivery reads them.
const DeliveryCols = `id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at, status, attempts,
	next_attempt_at, last_status_code, last_error, payload, created_at, updated_at`

// ScanDelivery reads DeliveryCols.
func ScanDelivery(r Row) (*identity.Delivery, error) {
	var d identity.Delivery
	var eventAt, next, created, updated Time
	if err := r.Scan(&d.ID, &d.TenantID, &d.EndpointID, &d.EventID, &d.EventType, &d.UserID, &eventAt, &d.Status, &d.Attempts,
		&next, &d.LastStatusCode, &d.LastError, &d.Payload, &created, &updated); err != nil {
		return nil, err
	}
	d.EventAt, d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = eventAt.Time, next.Time, created.Time, updated.Time
	return &d, nil
}

// ListDeliveries implements identity.WebhookStore: the endpoint's
// delivery rows, and the log's view of the events of its types since its
// creation that have none (delivered once its cursor passed them).
func (s Store) ListDeliveries(ctx context.Context, tenantID, endpointID string, p identity.Page) ([]*identity.Delivery, string, error) {
	// The page cursor is the event id: an endpoint's delivery ids differ
	// only by it.
	before, err := AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := Limit(p)
	passed := s.f.Passed
	out, err := list(ctx, s, ScanDelivery, `SELECT `+DeliveryCols+` FROM (
		SELECT `+DeliveryCols+` FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3 = '' OR event_id < $3)
		UNION ALL
		SELECT e.id || ':' || w.id, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at,
			CASE WHEN `+passed+` THEN 'delivered' ELSE 'pending' END,
			CASE WHEN `+passed+` THEN 1 ELSE 0 END,
			CASE WHEN `+passed+` THEN NULL ELSE `+s.f.Later("e.created_at", "w.retry_at")+` END,
			0, '', NULL, e.created_at, e.created_at
		FROM webhook_endpoints w JOIN events e ON e.tenant_id = w.tenant_id
		WHERE w.tenant_id = $1 AND w.id = $2 AND e.created_at >= w.created_at AND ($3 = '' OR e.id < $3) AND `+s.f.Subscribed+`
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = e.id || ':' || w.id)
	) x ORDER BY id DESC LIMIT $4`, tenantID, endpointID, before, n+1)
	if err != nil {
		return nil, "", err
	}
	return Page(out, n, func(d *identity.Delivery) string { return d.EventID })
}

// WriteRedelivery makes, in a write transaction tx, the event's delivery
// to the endpoint pending and due at now (identity.WebhookStore's
// Redeliver): a delivery row keeps its attempts and payload; without one,
// a row is written from the event, which must be of the endpoint's types
// and not older than it. It returns the delivery as stored.
func (s Store) WriteRedelivery(ctx context.Context, tx Conn, tenantID, endpointID, eventID string, now time.Time) (*identity.Delivery, error) {
	id := identity.DeliveryID(eventID, endpointID)
	n, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1
		WHERE id = $2 AND tenant_id = $3 AND endpoint_id = $4`, s.f.Time(now), id, tenantID, endpointID)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		n, err = tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at,
				status, attempts, next_attempt_at, created_at, updated_at)
			SELECT $1, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at, 'pending', 0, $2, e.created_at, $2
			FROM webhook_endpoints w JOIN events e ON e.tenant_id = w.tenant_id
			WHERE w.tenant_id = $3 AND w.id = $4 AND e.id = $5 AND e.created_at >= w.created_at AND `+s.f.Subscribed+`
			ON CONFLICT (id) DO UPDATE SET status = 'pending', next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`,
			id, s.f.Time(now), tenantID, endpointID, eventID)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, NotFound("event of this endpoint")
		}
	}
	return ScanDelivery(tx.QueryRow(ctx, "SELECT "+DeliveryCols+" FROM webhook_deliveries WHERE id = $1", id))
}

// backlogCap bounds the events counted per endpoint by PendingDeliveries,
// so that a scrape stays cheap behind a long-suspended endpoint.
const backlogCap = 100_000

// PendingDeliveries implements identity.WebhookStore.
func (s Store) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := s.f.Read.QueryRow(ctx, `SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')
		+ COALESCE((SELECT sum((SELECT count(*) FROM (SELECT 1 FROM events e
			WHERE e.tenant_id = w.tenant_id AND NOT (`+s.f.Passed+`) AND `+s.f.Subscribed+` LIMIT $1) x)) FROM webhook_endpoints w), 0)`,
		backlogCap).Scan(&n)
	return n, s.f.Error(err)
}

// DeleteWebhook implements identity.WebhookEndpoints.
func (s Store) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	return s.execFound(ctx, "webhook endpoint", "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2", tenantID, id)
}

// DueDeliveries implements identity.DispatchStore.
func (s Store) DueDeliveries(ctx context.Context, endpointID string, now time.Time, limit int) ([]*identity.Delivery, time.Time, error) {
	due, err := list(ctx, s, ScanDelivery, "SELECT "+DeliveryCols+` FROM webhook_deliveries
		WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3`, endpointID, s.f.Time(now), limit)
	if err != nil {
		return nil, time.Time{}, err
	}
	var next Time
	err = s.f.Read.QueryRow(ctx, "SELECT min(next_attempt_at) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at > $2",
		endpointID, s.f.Time(now)).Scan(&next)
	return due, next.Time, s.f.Error(err)
}

// ListDeliveryAttempts implements identity.WebhookStore.
func (s Store) ListDeliveryAttempts(ctx context.Context, deliveryID string) ([]*identity.DeliveryAttempt, error) {
	return list(ctx, s, func(r Row) (*identity.DeliveryAttempt, error) {
		var a identity.DeliveryAttempt
		var at Time
		var us int64
		if err := r.Scan(&a.DeliveryID, &at, &a.StatusCode, &us, &a.Error, &a.Response); err != nil {
			return nil, err
		}
		a.At, a.Duration = at.Time, time.Duration(us)*time.Microsecond
		return &a, nil
	}, "SELECT delivery_id, at, status_code, duration_us, error, response FROM webhook_attempts WHERE delivery_id = $1 ORDER BY at DESC LIMIT 100", deliveryID)
}

// PruneDeliveries implements identity.DispatchStore.
func (s Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE status != 'pending' AND updated_at < $1 LIMIT $2)`, s.f.Time(before), limit)
	return int(n), err
}

// RecordAttempt implements identity.DispatchStore.
func (s Store) RecordAttempt(ctx context.Context, r *identity.AttemptRecord) (*identity.EndpointHealth, error) {
	var h identity.EndpointHealth
	err := s.f.Tx(ctx, func(tx Conn) error {
		d, a := &r.Delivery, &r.Attempt
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at, status,
				attempts, next_attempt_at, last_status_code, last_error, payload, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12, $14, $13)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = webhook_deliveries.attempts + 1,
				next_attempt_at = excluded.next_attempt_at, last_status_code = excluded.last_status_code, last_error = excluded.last_error,
				payload = COALESCE(webhook_deliveries.payload, excluded.payload), updated_at = excluded.updated_at`,
			d.ID, d.TenantID, d.EndpointID, d.EventID, d.EventType, d.UserID, s.f.Time(d.EventAt), d.Status,
			s.f.Time(settleTime(r)), a.StatusCode, a.Error, d.Payload, s.f.Time(a.At), s.f.Time(createdAt(r))); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_us, error, response) VALUES ($1, $2, $3, $4, $5, $6)",
			d.ID, s.f.Time(a.At), a.StatusCode, a.Duration.Microseconds(), a.Error, a.Response); err != nil {
			return err
		}
		var row Row
		if r.Delivered() {
			// The receiver is back after a real outage: its retries go now.
			if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1
				WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at > $1
					AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $2 AND failing_since <= $3)`,
				s.f.Time(a.At), d.EndpointID, s.f.Time(a.At.Add(-r.RecoveredAfter))); err != nil {
				return err
			}
			row = tx.QueryRow(ctx, `UPDATE webhook_endpoints SET status = CASE WHEN status = 'suspended' THEN status ELSE 'healthy' END,
				consecutive_failures = 0, failing_since = NULL, retry_at = NULL WHERE id = $1
				RETURNING status, consecutive_failures, failing_since, retry_at`, d.EndpointID)
		} else {
			row = tx.QueryRow(ctx, `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
				failing_since = COALESCE(failing_since, $1), retry_at = $2,
				status = CASE WHEN status = 'suspended' OR $1 - COALESCE(failing_since, $1) >= $3 THEN 'suspended' ELSE 'unhealthy' END
				WHERE id = $4 RETURNING status, consecutive_failures, failing_since, retry_at`,
				s.f.Time(a.At), s.f.Time(r.RetryAt), s.f.Duration(r.SuspendAfter), d.EndpointID)
		}
		var failing, retry Time
		err := row.Scan(&h.Status, &h.ConsecutiveFailures, &failing, &retry)
		if s.f.NoRows(err) {
			return NotFound("webhook endpoint")
		}
		h.FailingSince, h.RetryAt = failing.Time, retry.Time
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

// Doomed reads the rows of a pruning scan, (position, older than the
// retention, still needed by an endpoint) in position order, limit of
// them at most: it returns the positions of the old events no endpoint
// needs any more, the last position read, and whether the scan should go
// on from there (false once it reached a recent event, or the end).
func Doomed[P any](rows Rows, err error, limit int) (doomed []P, last P, more bool, _ error) {
	if err != nil {
		return nil, last, false, err
	}
	defer rows.Close()
	scanned := 0
	for rows.Next() {
		var pos P
		var old, kept bool
		if err := rows.Scan(&pos, &old, &kept); err != nil {
			return nil, last, false, err
		}
		if !old {
			return doomed, last, false, nil
		}
		scanned, last = scanned+1, pos
		if !kept {
			doomed = append(doomed, pos)
		}
	}
	return doomed, last, scanned == limit, rows.Err()
}
