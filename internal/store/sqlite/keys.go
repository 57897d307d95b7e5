package sqlite

import (
	"context"

	"github.com/latchauth/latch/internal/identity"
)

// InsertFirstSigningKey implements identity.KeyStore; the write
// transaction (BEGIN IMMEDIATE) serialises the check and the insert.
func (db *DB) InsertFirstSigningKey(ctx context.Context, k *identity.SigningKey) (bool, error) {
	n, err := db.exec(ctx, `INSERT INTO signing_keys (id, alg, private_enc, public_der, created_at, activate_at)
		SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = $2 AND activate_at <= $6)`,
		k.ID, k.Alg, k.PrivateEnc, k.PublicDER, tm(k.CreatedAt), tm(k.ActivateAt))
	return n == 1, err
}
