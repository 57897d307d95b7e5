package sqlstore

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

const apiKeyCols = "id, tenant_id, name, hash, prefix, created_at, last_used_at, revoked_at"

func scanAPIKey(r Row) (*identity.APIKey, error) {
	var k identity.APIKey
	var created, used, revoked Time
	if err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Hash, &k.Prefix, &created, &used, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = created.Time, used.Time, revoked.Time
	return &k, nil
}

// CreateAPIKey implements identity.APIKeyStore.
func (s Store) CreateAPIKey(ctx context.Context, k *identity.APIKey) error {
	if err := APIKeyText(k); err != nil {
		return err
	}
	_, err := s.exec(ctx, "INSERT INTO api_keys ("+apiKeyCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		k.ID, k.TenantID, k.Name, k.Hash, k.Prefix, s.f.Time(k.CreatedAt), s.f.Time(k.LastUsedAt), s.f.Time(k.RevokedAt))
	return err
}

// ListAPIKeys implements identity.APIKeyStore.
func (s Store) ListAPIKeys(ctx context.Context, tenantID string) ([]*identity.APIKey, error) {
	return list(ctx, s, scanAPIKey, "SELECT "+apiKeyCols+" FROM api_keys WHERE tenant_id = $1 ORDER BY id", tenantID)
}

// GetAPIKeyByHash implements identity.APIKeyStore.
func (s Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*identity.APIKey, error) {
	return one(s, "api key", s.f.Read.QueryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE hash = $1", hash), scanAPIKey)
}

// RevokeAPIKey implements identity.APIKeyStore.
func (s Store) RevokeAPIKey(ctx context.Context, tenantID, id string, now time.Time) error {
	return s.execFound(ctx, "api key", "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3",
		s.f.Time(now), tenantID, id)
}

// InsertSigningKey implements identity.KeyStore.
func (s Store) InsertSigningKey(ctx context.Context, k *identity.SigningKey) error {
	_, err := s.exec(ctx, "INSERT INTO signing_keys (id, alg, private_enc, public_der, created_at, activate_at) VALUES ($1, $2, $3, $4, $5, $6)",
		k.ID, k.Alg, k.PrivateEnc, k.PublicDER, s.f.Time(k.CreatedAt), s.f.Time(k.ActivateAt))
	return err
}

// ListSigningKeys implements identity.KeyStore.
func (s Store) ListSigningKeys(ctx context.Context) ([]*identity.SigningKey, error) {
	return list(ctx, s, func(r Row) (*identity.SigningKey, error) {
		var k identity.SigningKey
		var created, activate Time
		if err := r.Scan(&k.ID, &k.Alg, &k.PrivateEnc, &k.PublicDER, &created, &activate); err != nil {
			return nil, err
		}
		k.CreatedAt, k.ActivateAt = created.Time, activate.Time
		return &k, nil
	}, "SELECT id, alg, private_enc, public_der, created_at, activate_at FROM signing_keys ORDER BY activate_at, id")
}
