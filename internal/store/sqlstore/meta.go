package sqlstore

import "context"

// GetMeta returns a deployment-level value, or "" when unset.
func (s Store) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.f.Read.QueryRow(ctx, "SELECT value FROM meta WHERE key = $1", key).Scan(&v)
	if s.f.NoRows(err) {
		return "", nil
	}
	return v, s.f.Error(err)
}

// SetMeta stores value under key, replacing any value.
func (s Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}
