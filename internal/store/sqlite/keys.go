package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const apiKeyCols = "id, tenant_id, name, hash, prefix, created_at, last_used_at, revoked_at"

func scanAPIKey(s scanner) (*identity.APIKey, error) {
	var k identity.APIKey
	var created, used, revoked sql.NullInt64
	if err := s.Scan(&k.ID, &k.TenantID, &k.Name, &k.Hash, &k.Prefix, &created, &used, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = ts(created), ts(used), ts(revoked)
	return &k, nil
}

// CreateAPIKey implements identity.APIKeyStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *identity.APIKey) error {
	if err := rowcodec.APIKeyText(k); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO api_keys ("+apiKeyCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			k.ID, k.TenantID, k.Name, k.Hash, k.Prefix, tm(k.CreatedAt), tm(k.LastUsedAt), tm(k.RevokedAt))
		return err
	})
}

// ListAPIKeys implements identity.APIKeyStore.
func (db *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]*identity.APIKey, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE tenant_id = ? ORDER BY id", tenantID)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []*identity.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, formatError(err)
		}
		out = append(out, k)
	}
	return out, formatError(rows.Err())
}

// GetAPIKeyByHash implements identity.APIKeyStore.
func (db *DB) GetAPIKeyByHash(ctx context.Context, hash []byte) (*identity.APIKey, error) {
	k, err := scanAPIKey(db.r.QueryRowContext(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("api key")
	}
	return k, formatError(err)
}

// RevokeAPIKey implements identity.APIKeyStore.
func (db *DB) RevokeAPIKey(ctx context.Context, tenantID, id string, now time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?", tm(now), tenantID, id)
		if err != nil {
			return err
		}
		return affected(res, "api key")
	})
}

// InsertSigningKey implements identity.KeyStore.
func (db *DB) InsertSigningKey(ctx context.Context, k *identity.SigningKey) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO signing_keys (id, alg, private_enc, public_der, created_at, activate_at) VALUES (?, ?, ?, ?, ?, ?)",
			k.ID, k.Alg, k.PrivateEnc, k.PublicDER, tm(k.CreatedAt), tm(k.ActivateAt))
		return err
	})
}

// InsertFirstSigningKey implements identity.KeyStore; the write
// transaction (BEGIN IMMEDIATE) serialises the check and the insert.
func (db *DB) InsertFirstSigningKey(ctx context.Context, k *identity.SigningKey) (bool, error) {
	return db.execOne(ctx, `INSERT INTO signing_keys (id, alg, private_enc, public_der, created_at, activate_at)
		SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ? AND activate_at <= ?)`,
		k.ID, k.Alg, k.PrivateEnc, k.PublicDER, tm(k.CreatedAt), tm(k.ActivateAt), k.Alg, tm(k.ActivateAt))
}

// ListSigningKeys implements identity.KeyStore.
func (db *DB) ListSigningKeys(ctx context.Context) ([]*identity.SigningKey, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT id, alg, private_enc, public_der, created_at, activate_at FROM signing_keys ORDER BY activate_at, id")
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []*identity.SigningKey
	for rows.Next() {
		var k identity.SigningKey
		var created, activate sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Alg, &k.PrivateEnc, &k.PublicDER, &created, &activate); err != nil {
			return nil, formatError(err)
		}
		k.CreatedAt, k.ActivateAt = ts(created), ts(activate)
		out = append(out, &k)
	}
	return out, formatError(rows.Err())
}
