package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// CreateConsoleSession implements identity.ConsoleSessionStore.
func (db *DB) CreateConsoleSession(ctx context.Context, s *identity.ConsoleSession) error {
	if err := rowcodec.Text("ip", s.IP, "user_agent", s.UserAgent); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO console_sessions (id_hash, token_mac, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
		s.IDHash, s.TokenMAC, s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.IP, s.UserAgent)
	return formatError(err)
}

// GetConsoleSession implements identity.ConsoleSessionStore.
func (db *DB) GetConsoleSession(ctx context.Context, idHash []byte) (*identity.ConsoleSession, error) {
	var s identity.ConsoleSession
	err := db.pool.QueryRow(ctx, "SELECT id_hash, token_mac, created_at, expires_at, ip, user_agent FROM console_sessions WHERE id_hash = $1", idHash).
		Scan(&s.IDHash, &s.TokenMAC, &s.CreatedAt, &s.ExpiresAt, &s.IP, &s.UserAgent)
	if noRows(err) {
		return nil, notFound("console session")
	} else if err != nil {
		return nil, formatError(err)
	}
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	return &s, nil
}

// DeleteConsoleSession implements identity.ConsoleSessionStore.
func (db *DB) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM console_sessions WHERE id_hash = $1", idHash)
	return formatError(err)
}

// DeleteExpiredConsoleSessions implements identity.ConsoleSessionStore.
func (db *DB) DeleteExpiredConsoleSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM console_sessions WHERE expires_at <= $1", now.UTC())
	if err != nil {
		return 0, formatError(err)
	}
	return int(tag.RowsAffected()), nil
}

// Redeliver implements identity.WebhookStore; it wakes the dispatchers of
// every instance.
func (db *DB) Redeliver(ctx context.Context, tenantID, endpointID, eventID string, now time.Time) (*identity.Delivery, error) {
	id := identity.DeliveryID(eventID, endpointID)
	var out *identity.Delivery
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanDelivery(tx.QueryRow(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1
			WHERE id = $2 AND tenant_id = $3 AND endpoint_id = $4 RETURNING `+deliveryCols, now.UTC(), id, tenantID, endpointID))
		if noRows(err) {
			out, err = scanDelivery(tx.QueryRow(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id,
					event_at, status, attempts, next_attempt_at, created_at, updated_at)
				SELECT $1, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at, 'pending', 0, $2, e.created_at, $2
				FROM webhook_endpoints w JOIN events e ON e.tenant_id = w.tenant_id
				WHERE w.tenant_id = $3 AND w.id = $4 AND e.id = $5 AND e.created_at >= w.created_at AND w.events ? e.type
				ON CONFLICT (id) DO UPDATE SET status = 'pending', next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at
				RETURNING `+deliveryCols, id, now.UTC(), tenantID, endpointID, eventID))
			if noRows(err) {
				return notFound("event of this endpoint")
			}
		}
		if err != nil {
			return err
		}
		return notifyWebhooks(ctx, tx)
	})
	return out, err
}
