package postgres

import (
	"context"
)

// SetMetaIfAbsent stores value under key unless a value exists, and returns
// the value in force, so that instances starting together agree on one.
func (db *DB) SetMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value", key, value).Scan(&v)
	if !noRows(err) {
		return v, formatError(err)
	}
	// Another writer got there first. Its row is read by a statement of its
	// own: the INSERT's snapshot predates that writer's commit.
	return db.GetMeta(ctx, key)
}
