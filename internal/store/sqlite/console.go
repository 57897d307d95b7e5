package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// CreateConsoleSession implements identity.ConsoleSessionStore.
func (db *DB) CreateConsoleSession(ctx context.Context, s *identity.ConsoleSession) error {
	if err := rowcodec.Text("ip", s.IP, "user_agent", s.UserAgent); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO console_sessions (id_hash, token_mac, created_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?)",
			s.IDHash, s.TokenMAC, tm(s.CreatedAt), tm(s.ExpiresAt), s.IP, s.UserAgent)
		return err
	})
}

// GetConsoleSession implements identity.ConsoleSessionStore.
func (db *DB) GetConsoleSession(ctx context.Context, idHash []byte) (*identity.ConsoleSession, error) {
	var s identity.ConsoleSession
	var created, expires sql.NullInt64
	err := db.r.QueryRowContext(ctx, "SELECT id_hash, token_mac, created_at, expires_at, ip, user_agent FROM console_sessions WHERE id_hash = ?", idHash).
		Scan(&s.IDHash, &s.TokenMAC, &created, &expires, &s.IP, &s.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("console session")
	} else if err != nil {
		return nil, formatError(err)
	}
	s.CreatedAt, s.ExpiresAt = ts(created), ts(expires)
	return &s, nil
}

// DeleteConsoleSession implements identity.ConsoleSessionStore.
func (db *DB) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM console_sessions WHERE id_hash = ?", idHash)
		return err
	})
}

// DeleteExpiredConsoleSessions implements identity.ConsoleSessionStore.
func (db *DB) DeleteExpiredConsoleSessions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM console_sessions WHERE expires_at <= ?", tm(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Redeliver implements identity.WebhookStore.
func (db *DB) Redeliver(ctx context.Context, tenantID, endpointID, eventID string, now time.Time) (*identity.Delivery, error) {
	id := identity.DeliveryID(eventID, endpointID)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1, updated_at = ?1
			WHERE id = ?2 AND tenant_id = ?3 AND endpoint_id = ?4`, tm(now), id, tenantID, endpointID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, user_id, event_at,
				status, attempts, next_attempt_at, created_at, updated_at)
			SELECT ?1, e.tenant_id, w.id, e.id, e.type, e.user_id, e.created_at, 'pending', 0, ?2, e.created_at, ?2
			FROM webhook_endpoints w JOIN events e ON e.tenant_id = w.tenant_id
			WHERE w.tenant_id = ?3 AND w.id = ?4 AND e.id = ?5 AND e.created_at >= w.created_at
				AND e.type IN (SELECT value FROM json_each(w.events))
			ON CONFLICT (id) DO UPDATE SET status = 'pending', next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`, id, tm(now), tenantID, endpointID, eventID)
		if err != nil {
			return err
		}
		return affected(res, "event of this endpoint")
	})
	if err != nil {
		return nil, err
	}
	ds, err := db.queryDeliveries(ctx, "SELECT "+deliveryCols+" FROM webhook_deliveries WHERE id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, notFound("delivery") // the endpoint was deleted meanwhile
	}
	return ds[0], nil
}
