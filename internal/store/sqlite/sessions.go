package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

// GetSessionWithOwners implements identity.LoginSessions with a prepared
// statement: every refresh reads it.
func (db *DB) GetSessionWithOwners(ctx context.Context, id string) (*identity.Session, *identity.Tenant, *identity.User, error) {
	return db.Owners(db.getOwners.QueryRowContext(ctx, id))
}

// CreateSession implements identity.LoginSessions. The user's row is
// written first: with Checked, that write is the compare-and-swap on the
// hash and status the login verified (the single writer serialises it
// with any password change or disable).
func (db *DB) CreateSession(ctx context.Context, s *identity.Session, w identity.SessionWrite) error {
	if err := errors.Join(sqlstore.SessionText(s), sqlstore.SessionText(w.Grant), sqlstore.EventText(w.Events),
		sqlstore.Text("password_hash", w.NewPasswordHash, "address", w.KnownAddress)); err != nil {
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
				return sqlstore.UserChanged()
			}
		} else if _, err := tx.ExecContext(ctx, "UPDATE users SET last_login_at = ?1, last_seen_at = ?1 WHERE id = ?2", at, s.UserID); err != nil {
			return err
		}
		for _, x := range []*identity.Session{s, w.Grant} {
			if err := db.InsertSession(ctx, conn{tx}, x); err != nil {
				return err
			}
		}
		if w.KnownAddress != "" {
			if err := db.RememberAddress(ctx, conn{tx}, s.UserID, w.KnownAddress, s.CreatedAt); err != nil {
				return err
			}
		}
		return db.insertEvents(ctx, tx, w.Events)
	})
}

// GetSession implements identity.LoginSessions with a prepared statement.
func (db *DB) GetSession(ctx context.Context, id string) (*identity.Session, error) {
	return db.Session(db.getSession.QueryRowContext(ctx, id))
}

// RevokeSession implements identity.LoginSessions. Events are appended only
// by the call that revokes, so concurrent revocations record one event.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time, reason string, events []identity.Event) error {
	if err := errors.Join(sqlstore.Text("revoke_reason", reason), sqlstore.EventText(events)); err != nil {
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
