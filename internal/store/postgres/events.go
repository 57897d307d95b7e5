package postgres

import (
	"context"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

// AppendEvents implements identity.EventAppender; one statement is one transaction.
func (db *DB) AppendEvents(ctx context.Context, events ...identity.Event) error {
	if err := sqlstore.EventText(events); err != nil {
		return err
	}
	return formatError(insertEvents(ctx, db.pool, events))
}
