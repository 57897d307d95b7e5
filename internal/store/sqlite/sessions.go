package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const sessionColumns = `id, tenant_id, user_id, generation, created_at, expires_at, last_seen_at, rotated_at, revoked_at,
	revoke_reason, user_agent, origin, ip, dialect, amr, device_name, kind`

// sessionCols are qualified, so that ownersSQL can join them with the
// tenant's and the user's.
const sessionCols = `sessions.id, sessions.tenant_id, sessions.user_id, sessions.generation, sessions.created_at,
	sessions.expires_at, sessions.last_seen_at, sessions.rotated_at, sessions.revoked_at, sessions.revoke_reason,
	sessions.user_agent, sessions.origin, sessions.ip, sessions.dialect, sessions.amr, sessions.device_name, sessions.kind`

func scanSession(s scanner) (*identity.Session, error) { return scanWith(s, sessionScanner) }

// sessionScanner returns a session, the destinations of sessionCols and
// what to do once they are filled.
func sessionScanner() (*identity.Session, []any, func() error) {
	var x identity.Session
	var amr string
	var created, expires, seen, rotated, revoked sql.NullInt64
	return &x, []any{&x.ID, &x.TenantID, &x.UserID, &x.Generation, &created, &expires, &seen, &rotated, &revoked,
			&x.RevokeReason, &x.UserAgent, &x.Origin, &x.IP, &x.Dialect, &amr, &x.DeviceName, &x.Kind}, func() error {
			x.CreatedAt, x.ExpiresAt, x.LastSeenAt, x.RotatedAt, x.RevokedAt = ts(created), ts(expires), ts(seen), ts(rotated), ts(revoked)
			return unjs(amr, &x.AMR)
		}
}

// scanWith scans one row through a scanner's destinations and finisher.
func scanWith[T any](s scanner, scanner func() (T, []any, func() error)) (T, error) {
	v, dests, finish := scanner()
	if err := s.Scan(dests...); err != nil {
		var zero T
		return zero, err
	}
	return v, finish()
}

// ownersSQL reads a session with its tenant and user in one query
// (identity.SessionStore): a refresh needs all three.
const ownersSQL = "SELECT " + sessionCols + ", " + tenantCols + ", " + userCols + ` FROM sessions
	JOIN tenants ON tenants.id = sessions.tenant_id
	JOIN users ON users.id = sessions.user_id AND users.tenant_id = sessions.tenant_id
	WHERE sessions.id = ?`

// GetSessionWithOwners implements identity.SessionStore.
func (db *DB) GetSessionWithOwners(ctx context.Context, id string) (*identity.Session, *identity.Tenant, *identity.User, error) {
	sess, sd, sf := sessionScanner()
	t, td, tf := tenantScanner()
	u, ud, uf := userScanner()
	err := db.getOwners.QueryRowContext(ctx, id).Scan(append(append(sd, td...), ud...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, notFound("session")
	} else if err != nil {
		return nil, nil, nil, formatError(err)
	}
	if err := errors.Join(sf(), tf(), uf()); err != nil {
		return nil, nil, nil, err
	}
	return sess, t, u, nil
}

// CreateSession implements identity.SessionStore. The user's row is
// written first: with Checked, that write is the compare-and-swap on the
// hash and status the login verified (the single writer serialises it
// with any password change or disable).
func (db *DB) CreateSession(ctx context.Context, s *identity.Session, w identity.SessionWrite) error {
	if err := errors.Join(rowcodec.SessionText(s), rowcodec.SessionText(w.Grant), rowcodec.EventText(w.Events),
		rowcodec.Text("password_hash", w.NewPasswordHash, "address", w.KnownAddress)); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		at := tm(s.CreatedAt)
		if c := w.Checked; c != nil {
			hash := c.PasswordHash
			if w.NewPasswordHash != "" {
				hash = w.NewPasswordHash
			}
			res, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = ?1, last_seen_at = ?1, password_hash = ?2,
				updated_at = CASE WHEN password_hash = ?2 THEN updated_at ELSE ?1 END
				WHERE id = ?3 AND password_hash = ?4 AND status = ?5`, at, hash, s.UserID, c.PasswordHash, c.Status)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return rowcodec.UserChanged()
			}
		} else if _, err := tx.ExecContext(ctx, "UPDATE users SET last_login_at = ?1, last_seen_at = ?1 WHERE id = ?2", at, s.UserID); err != nil {
			return err
		}
		for _, x := range []*identity.Session{s, w.Grant} {
			if err := insertSession(ctx, tx, x); err != nil {
				return err
			}
		}
		if w.KnownAddress != "" {
			if err := rememberAddress(ctx, tx, s.UserID, w.KnownAddress, s.CreatedAt); err != nil {
				return err
			}
		}
		return db.insertEvents(ctx, tx, w.Events)
	})
}

// insertSession inserts s; a grant first revokes the live grant of its
// device (the partial unique index sessions_live_grant holds the rule).
func insertSession(ctx context.Context, tx *sql.Tx, s *identity.Session) error {
	if s == nil {
		return nil
	}
	if s.Kind == identity.SessionReauth {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			WHERE tenant_id = ? AND user_id = ? AND device_name = ? AND kind = ? AND revoked_at IS NULL`,
			tm(s.CreatedAt), identity.ReasonGrantReplaced, s.TenantID, s.UserID, s.DeviceName, s.Kind); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.TenantID, s.UserID, s.Generation, tm(s.CreatedAt), tm(s.ExpiresAt), tm(s.LastSeenAt), tm(s.RotatedAt),
		tm(s.RevokedAt), s.RevokeReason, s.UserAgent, s.Origin, s.IP, s.Dialect, js(s.AMR), s.DeviceName, s.Kind)
	return err
}

// GetSession implements identity.SessionStore.
func (db *DB) GetSession(ctx context.Context, id string) (*identity.Session, error) {
	s, err := scanSession(db.getSession.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session")
	}
	return s, formatError(err)
}

// RevokeSession implements identity.SessionStore. Events are appended only
// by the call that revokes, so concurrent revocations record one event.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time, reason string, events []identity.Event) error {
	if err := errors.Join(rowcodec.Text("revoke_reason", reason), rowcodec.EventText(events)); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL", tm(now), reason, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, "SELECT 1 FROM sessions WHERE id = ?", id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return notFound("session")
			}
			return nil
		}
		return db.insertEvents(ctx, tx, events)
	})
}

// RevokeUserSessions implements identity.SessionStore.
func (db *DB) RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time, reason string) (int, error) {
	if err := rowcodec.Text("revoke_reason", reason); err != nil {
		return 0, err
	}
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
			tm(now), reason, tenantID, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// RevokeDeviceSessions implements identity.SessionStore.
func (db *DB) RevokeDeviceSessions(ctx context.Context, tenantID, userID, device, kind string, now time.Time, reason string) (int, error) {
	if err := rowcodec.Text("device_name", device, "revoke_reason", reason); err != nil {
		return 0, err
	}
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			WHERE tenant_id = ? AND user_id = ? AND device_name = ? AND kind = ? AND revoked_at IS NULL`,
			tm(now), reason, tenantID, userID, device, kind)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// ListUserSessions implements identity.SessionStore.
func (db *DB) ListUserSessions(ctx context.Context, tenantID, userID string) ([]*identity.Session, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+sessionCols+" FROM sessions WHERE tenant_id = ? AND user_id = ? ORDER BY created_at DESC, id DESC LIMIT 1000", tenantID, userID)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []*identity.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, formatError(err)
		}
		out = append(out, s)
	}
	return out, formatError(rows.Err())
}
