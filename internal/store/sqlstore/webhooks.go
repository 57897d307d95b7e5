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
