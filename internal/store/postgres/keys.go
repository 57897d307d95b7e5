package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const apiKeyCols = "id, tenant_id, name, hash, prefix, created_at, last_used_at, revoked_at"

func scanAPIKey(r pgx.Row) (*identity.APIKey, error) {
	var k identity.APIKey
	var created time.Time
	var used, revoked *time.Time
	if err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Hash, &k.Prefix, &created, &used, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = created.UTC(), tv(used), tv(revoked)
	return &k, nil
}

// CreateAPIKey implements identity.APIKeyStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *identity.APIKey) error {
	if err := rowcodec.APIKeyText(k); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO api_keys ("+apiKeyCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		k.ID, k.TenantID, k.Name, k.Hash, k.Prefix, k.CreatedAt.UTC(), tp(k.LastUsedAt), tp(k.RevokedAt))
	return formatError(err)
}

// ListAPIKeys implements identity.APIKeyStore.
func (db *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]*identity.APIKey, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE tenant_id = $1 ORDER BY id", tenantID)
	return collect(rows, err, scanAPIKey)
}

// GetAPIKeyByHash implements identity.APIKeyStore.
func (db *DB) GetAPIKeyByHash(ctx context.Context, hash []byte) (*identity.APIKey, error) {
	k, err := scanAPIKey(db.pool.QueryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE hash = $1", hash))
	if noRows(err) {
		return nil, notFound("api key")
	}
	return k, formatError(err)
}

// RevokeAPIKey implements identity.APIKeyStore.
func (db *DB) RevokeAPIKey(ctx context.Context, tenantID, id string, now time.Time) error {
	tag, err := db.pool.Exec(ctx, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3", now.UTC(), tenantID, id)
	if err != nil {
		return formatError(err)
	}
	return affected(tag, "api key")
}

// InsertSigningKey implements identity.KeyStore.
func (db *DB) InsertSigningKey(ctx context.Context, k *identity.SigningKey) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO signing_keys (id, alg, private_enc, public_der, created_at, activate_at) VALUES ($1, $2, $3, $4, $5, $6)",
		k.ID, k.Alg, k.PrivateEnc, k.PublicDER, k.CreatedAt.UTC(), k.ActivateAt.UTC())
	return formatError(err)
}

// InsertFirstSigningKey implements identity.KeyStore. A transaction-scoped
// advisory lock serialises the check and the insert across instances.
func (db *DB) InsertFirstSigningKey(ctx context.Context, k *identity.SigningKey) (bool, error) {
	inserted := false
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('latch-first-signing-key:' || current_schema()))"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, alg, private_enc, public_der, created_at, activate_at)
			SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = $2 AND activate_at <= $6)`,
			k.ID, k.Alg, k.PrivateEnc, k.PublicDER, k.CreatedAt.UTC(), k.ActivateAt.UTC())
		inserted = tag.RowsAffected() == 1
		return err
	})
	return inserted, err
}

// ListSigningKeys implements identity.KeyStore.
func (db *DB) ListSigningKeys(ctx context.Context) ([]*identity.SigningKey, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, alg, private_enc, public_der, created_at, activate_at FROM signing_keys ORDER BY activate_at, id")
	return collect(rows, err, func(r pgx.Row) (*identity.SigningKey, error) {
		var k identity.SigningKey
		var created, activate time.Time
		if err := r.Scan(&k.ID, &k.Alg, &k.PrivateEnc, &k.PublicDER, &created, &activate); err != nil {
			return nil, err
		}
		k.CreatedAt, k.ActivateAt = created.UTC(), activate.UTC()
		return &k, nil
	})
}
