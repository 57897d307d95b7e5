package sqlite

import (
	"context"
	"database/sql"
)

// SetMeta stores value under key, replacing any value.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
		return err
	})
}
