package postgres

import (
	"context"
)

// GetMeta returns a deployment-level value, or "" when unset.
func (db *DB) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, "SELECT value FROM meta WHERE key = $1", key).Scan(&v)
	if noRows(err) {
		return "", nil
	}
	return v, formatError(err)
}

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

// SetMeta stores value under key, replacing any value.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", key, value)
	return formatError(err)
}
