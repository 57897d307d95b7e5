package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const webhookCols = "webhook_endpoints.id, webhook_endpoints.tenant_id, webhook_endpoints.url, webhook_endpoints.events::text, " +
	"webhook_endpoints.signing, webhook_endpoints.secret, webhook_endpoints.status, webhook_endpoints.consecutive_failures, " +
	"webhook_endpoints.created_at, webhook_endpoints.updated_at"

func webhookScanner() (*identity.WebhookEndpoint, []any, func() error) {
	var w identity.WebhookEndpoint
	var events string
	var created, updated time.Time
	return &w, []any{&w.ID, &w.TenantID, &w.URL, &events, &w.Signing, &w.SecretSealed, &w.Status, &w.ConsecutiveFailures, &created, &updated},
		func() error {
			w.CreatedAt, w.UpdatedAt = created.UTC(), updated.UTC()
			return unjs(events, &w.Events)
		}
}

func scanWebhook(r pgx.Row) (*identity.WebhookEndpoint, error) { return scanWith(r, webhookScanner) }

// CreateWebhook implements identity.WebhookStore.
func (db *DB) CreateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	err := db.tx(ctx, func(tx pgx.Tx) error {
		// A tenant's first endpoint: its backlog is history, not to deliver
		// (see withEndpoints).
		if _, err := tx.Exec(ctx, `UPDATE events SET fanned_out = true WHERE tenant_id = $1 AND NOT fanned_out
			AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = $1)`, w.TenantID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (id, tenant_id, url, events, signing, secret, status,
			consecutive_failures, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			w.ID, w.TenantID, w.URL, js(w.Events), w.Signing, w.SecretSealed, w.Status, w.ConsecutiveFailures, w.CreatedAt.UTC(), w.UpdatedAt.UTC())
		return err
	})
	if identity.ErrorCode(err) == identity.ENOTFOUND {
		return notFound("tenant")
	}
	return err
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
// dispatchers, since a re-enabled endpoint may have deliveries waiting.
func (db *DB) UpdateWebhook(ctx context.Context, w *identity.WebhookEndpoint) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET url = $1, events = $2, signing = $3, status = $4,
			consecutive_failures = $5, updated_at = $6 WHERE tenant_id = $7 AND id = $8`,
			w.URL, js(w.Events), w.Signing, w.Status, w.ConsecutiveFailures, w.UpdatedAt.UTC(), w.TenantID, w.ID)
		if err != nil {
			return err
		}
		if err := affected(tag, "webhook endpoint"); err != nil {
			return err
		}
		return notifyWebhooks(ctx, tx)
	})
}

// DeleteWebhook implements identity.WebhookStore.
func (db *DB) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2", tenantID, id)
	if err != nil {
		return formatError(err)
	}
	return affected(tag, "webhook endpoint")
}

// withEndpoints limits fan-out to the events of tenants that have an
// endpoint: the others' events are never written again (a second write per
// event halved refresh throughput), and CreateWebhook marks a tenant's
// backlog when it gets its first endpoint.
const withEndpoints = "tenant_id IN (SELECT tenant_id FROM webhook_endpoints)"

// FanOutEvents implements identity.WebhookStore. The events are locked
// with SKIP LOCKED, so instances fanning out at once take different ones;
// the deliveries' ids (event:endpoint) make a repeat harmless anyway.
func (db *DB) FanOutEvents(ctx context.Context, now time.Time, limit int) (int, error) {
	// A read first: the dispatcher asks often, and most answers are "none".
	var pending bool
	// Driven from the (few) endpoints, so that it costs an index probe per
	// endpoint tenant, however many events other tenants have.
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_endpoints w
		WHERE EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = w.tenant_id AND NOT e.fanned_out))`).Scan(&pending); err != nil || !pending {
		return 0, formatError(err)
	}
	var n int
	err := db.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH ev AS (
			SELECT id FROM events WHERE NOT fanned_out AND `+withEndpoints+` ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
		), d AS (
			INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at, next_attempt_at, created_at, updated_at)
			SELECT e.id || ':' || w.id, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at, $1, $1, $1
			FROM events e JOIN ev ON ev.id = e.id JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.events ? e.type
			ON CONFLICT (id) DO NOTHING
		), u AS (
			UPDATE events SET fanned_out = true WHERE id IN (SELECT id FROM ev)
		)
		SELECT count(*) FROM ev`, now.UTC(), limit).Scan(&n)
		if err != nil || n == 0 {
			return err
		}
		return notifyWebhooks(ctx, tx)
	})
	return n, err
}

// webhookChannel is the LISTEN/NOTIFY channel that wakes the dispatchers
// of every instance when deliveries may have become due.
const webhookChannel = "latch_webhooks"

// notifyWebhooks wakes every instance's dispatcher when tx commits.
func notifyWebhooks(ctx context.Context, q querier) error {
	_, err := q.Exec(ctx, "SELECT pg_notify($1, current_schema())", webhookChannel)
	return err
}

// ListenWebhooks calls wake whenever any instance on this database (and
// schema) fans out events or re-enables an endpoint, until ctx ends. A
// lost connection is re-established; the dispatcher's poll covers the gap.
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

const deliveryCols = `webhook_deliveries.id, webhook_deliveries.tenant_id, webhook_deliveries.endpoint_id, webhook_deliveries.event_id,
	webhook_deliveries.event_type, webhook_deliveries.user_id, webhook_deliveries.event_at, webhook_deliveries.status,
	webhook_deliveries.attempts, webhook_deliveries.next_attempt_at, webhook_deliveries.last_status_code,
	webhook_deliveries.last_error, webhook_deliveries.payload, webhook_deliveries.created_at, webhook_deliveries.updated_at`

func deliveryScanner() (*identity.Delivery, []any, func() error) {
	var d identity.Delivery
	var eventAt, next, created, updated time.Time
	return &d, []any{&d.ID, &d.TenantID, &d.EndpointID, &d.EventID, &d.EventType, &d.UserID, &eventAt, &d.Status, &d.Attempts,
			&next, &d.LastStatusCode, &d.LastError, &d.Payload, &created, &updated}, func() error {
			d.EventAt, d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = eventAt.UTC(), next.UTC(), created.UTC(), updated.UTC()
			return nil
		}
}

// ClaimDeliveries implements identity.WebhookStore: FOR UPDATE SKIP
// LOCKED gives each due delivery to one caller across instances, and the
// lease keeps it theirs after the transaction; a lease that runs out (a
// crash) makes it claimable again.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*identity.ClaimedDelivery, error) {
	var out []*identity.ClaimedDelivery
	err := db.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deliveryCols+`, `+webhookCols+`
			FROM webhook_deliveries JOIN webhook_endpoints ON webhook_endpoints.id = webhook_deliveries.endpoint_id
			WHERE webhook_deliveries.status = 'pending' AND webhook_deliveries.next_attempt_at <= $1
				AND (webhook_deliveries.leased_until IS NULL OR webhook_deliveries.leased_until <= $1)
				AND webhook_endpoints.status != 'suspended'
			ORDER BY webhook_deliveries.next_attempt_at LIMIT $2
			FOR UPDATE OF webhook_deliveries SKIP LOCKED`, now.UTC(), limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, nil, func(r pgx.Row) (*identity.ClaimedDelivery, error) {
			d, dd, df := deliveryScanner()
			w, wd, wf := webhookScanner()
			if err := r.Scan(append(dd, wd...)...); err != nil {
				return nil, err
			}
			if err := df(); err != nil {
				return nil, err
			}
			return &identity.ClaimedDelivery{Delivery: *d, Endpoint: *w}, wf()
		})
		if err != nil || len(out) == 0 {
			return err
		}
		ids := make([]string, len(out))
		for i, c := range out {
			ids[i] = c.ID
		}
		_, err = tx.Exec(ctx, "UPDATE webhook_deliveries SET leased_until = $1 WHERE id = ANY($2)", now.Add(lease).UTC(), ids)
		return err
	})
	return out, err
}

// FinishDelivery implements identity.WebhookStore.
func (db *DB) FinishDelivery(ctx context.Context, c *identity.ClaimedDelivery, r identity.DeliveryResult) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		a := r.Attempt
		if _, err := tx.Exec(ctx, "INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_us, error, response) VALUES ($1, $2, $3, $4, $5, $6)",
			c.ID, a.At.UTC(), a.StatusCode, a.Duration.Microseconds(), a.Error, a.Response); err != nil {
			return err
		}
		status, next := r.Settle()
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2,
			leased_until = NULL, last_status_code = $3, last_error = $4, payload = $5, updated_at = $6 WHERE id = $7`,
			status, next.UTC(), a.StatusCode, a.Error, r.Payload, a.At.UTC(), c.ID); err != nil {
			return err
		}
		if r.Delivered {
			_, err := tx.Exec(ctx, "UPDATE webhook_endpoints SET status = 'healthy', consecutive_failures = 0 WHERE id = $1 AND status != 'suspended'", c.EndpointID)
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
			status = CASE WHEN status = 'suspended' OR consecutive_failures + 1 >= $1 THEN 'suspended' ELSE 'unhealthy' END
			WHERE id = $2`, r.SuspendAfter, c.EndpointID)
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
	q := "SELECT " + deliveryCols + " FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2"
	args := []any{tenantID, endpointID}
	if before != "" {
		args = append(args, before)
		q += " AND id < $3"
	}
	args = append(args, n+1)
	rows, err := db.pool.Query(ctx, q+" ORDER BY id DESC LIMIT $"+itoa(len(args)), args...)
	out, err := collect(rows, err, func(r pgx.Row) (*identity.Delivery, error) { return scanWith(r, deliveryScanner) })
	if err != nil {
		return nil, "", err
	}
	return rowcodec.Page(out, n, func(d *identity.Delivery) string { return d.ID })
}

// ListDeliveryAttempts implements identity.WebhookStore.
func (db *DB) ListDeliveryAttempts(ctx context.Context, deliveryID string) ([]*identity.DeliveryAttempt, error) {
	rows, err := db.pool.Query(ctx, "SELECT delivery_id, at, status_code, duration_us, error, response FROM webhook_attempts WHERE delivery_id = $1 ORDER BY at DESC LIMIT 100", deliveryID)
	return collect(rows, err, func(r pgx.Row) (*identity.DeliveryAttempt, error) {
		var a identity.DeliveryAttempt
		var us int64
		if err := r.Scan(&a.DeliveryID, &a.At, &a.StatusCode, &us, &a.Error, &a.Response); err != nil {
			return nil, err
		}
		a.At, a.Duration = a.At.UTC(), time.Duration(us)*time.Microsecond
		return &a, nil
	})
}

// NextDeliveryAt implements identity.WebhookStore.
func (db *DB) NextDeliveryAt(ctx context.Context) (time.Time, error) {
	var next *time.Time
	// A leased delivery is not due before its lease ends.
	err := db.pool.QueryRow(ctx, `SELECT min(greatest(d.next_attempt_at, coalesce(d.leased_until, '-infinity'))) FROM webhook_deliveries d
		JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.status = 'pending' AND w.status != 'suspended'`).Scan(&next)
	return tv(next), formatError(err)
}

// PendingDeliveries implements identity.WebhookStore.
func (db *DB) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").Scan(&n)
	return n, formatError(err)
}

// PruneDeliveries implements identity.WebhookStore.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM webhook_deliveries WHERE status != 'pending' AND updated_at < $1", before.UTC())
	return int(tag.RowsAffected()), formatError(err)
}
