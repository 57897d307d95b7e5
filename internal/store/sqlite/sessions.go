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

// CreateSession implements identity.LoginSessions (sqlstore.WriteLogin),
// with the events appended by the prepared statement.
func (db *DB) CreateSession(ctx context.Context, s *identity.Session, w identity.SessionWrite) error {
	if err := sqlstore.LoginText(s, w); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.WriteLogin(ctx, conn{tx}, s, w); err != nil {
			return err
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
