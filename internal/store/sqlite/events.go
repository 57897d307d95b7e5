package sqlite

import (
	"context"
	"database/sql"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx, events []identity.Event) error {
	if len(events) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, db.insertEvent)
	for _, e := range events {
		if _, err := st.ExecContext(ctx, e.ID, e.TenantID, e.UserID, e.SessionID, e.Type, tm(e.CreatedAt), js(e.Data)); err != nil {
			return err
		}
	}
	return nil
}

// AppendEvents implements identity.EventAppender.
func (db *DB) AppendEvents(ctx context.Context, events ...identity.Event) error {
	if err := sqlstore.EventText(events); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error { return db.insertEvents(ctx, tx, events) })
}
