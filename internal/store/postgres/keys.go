package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
)

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
