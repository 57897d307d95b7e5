package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

func errTOTPOn() error {
	return &identity.Error{Code: identity.ECONFLICT, Message: "two-factor authentication is already on for this user"}
}

// PutPendingTOTP implements identity.SecondFactorStore.
func (db *DB) PutPendingTOTP(ctx context.Context, c *identity.TOTPCredential) error {
	if err := rowcodec.Text("user_id", c.UserID, "tenant_id", c.TenantID); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2)", c.TenantID, c.UserID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return notFound("user")
		}
		tag, err := tx.Exec(ctx, `INSERT INTO user_totp (user_id, tenant_id, secret, created_at, confirmed_at, last_step)
			VALUES ($1, $2, $3, $4, NULL, 0)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
			WHERE user_totp.confirmed_at IS NULL`, c.UserID, c.TenantID, c.SecretSealed, c.CreatedAt.UTC())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errTOTPOn()
		}
		return nil
	})
}

// GetTOTP implements identity.SecondFactorStore.
func (db *DB) GetTOTP(ctx context.Context, tenantID, userID string) (*identity.TOTPCredential, error) {
	var c identity.TOTPCredential
	var created time.Time
	var confirmed *time.Time
	err := db.pool.QueryRow(ctx, `SELECT user_id, tenant_id, secret, created_at, confirmed_at, last_step,
		(SELECT count(*) FROM recovery_codes WHERE user_id = user_totp.user_id AND used_at IS NULL)
		FROM user_totp WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID).
		Scan(&c.UserID, &c.TenantID, &c.SecretSealed, &created, &confirmed, &c.LastStep, &c.RecoveryLeft)
	if noRows(err) {
		return nil, notFound("two-factor enrolment")
	} else if err != nil {
		return nil, formatError(err)
	}
	c.CreatedAt, c.ConfirmedAt = created.UTC(), tv(confirmed)
	return &c, nil
}

// ConfirmTOTP implements identity.SecondFactorStore.
func (db *DB) ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, hashes [][]byte, now time.Time) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		var confirmed *time.Time
		err := tx.QueryRow(ctx, "SELECT confirmed_at FROM user_totp WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE", tenantID, userID).Scan(&confirmed)
		if noRows(err) {
			return notFound("pending two-factor enrolment")
		} else if err != nil {
			return err
		}
		if confirmed != nil {
			return errTOTPOn()
		}
		if _, err := tx.Exec(ctx, "UPDATE user_totp SET confirmed_at = $1, last_step = $2 WHERE user_id = $3", now.UTC(), step, userID); err != nil {
			return err
		}
		return replaceRecoveryCodes(ctx, tx, userID, hashes)
	})
}

func replaceRecoveryCodes(ctx context.Context, tx pgx.Tx, userID string, hashes [][]byte) error {
	if _, err := tx.Exec(ctx, "DELETE FROM recovery_codes WHERE user_id = $1", userID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "INSERT INTO recovery_codes (user_id, hash) SELECT $1, h FROM unnest($2::bytea[]) AS h", userID, hashes)
	return err
}

// UseTOTPStep implements identity.SecondFactorStore. The comparison is in
// the UPDATE: a concurrent one waits for the row and re-checks, so of two
// requests carrying the same code exactly one wins, on any instance.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE user_totp SET last_step = $1
		WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1`, step, userID)
	return tag.RowsAffected() == 1, formatError(err)
}

// UseRecoveryCode implements identity.SecondFactorStore.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL", now.UTC(), userID, hash)
	return tag.RowsAffected() == 1, formatError(err)
}

// ReplaceRecoveryCodes implements identity.SecondFactorStore.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes [][]byte) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		var on bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM user_totp
			WHERE tenant_id = $1 AND user_id = $2 AND confirmed_at IS NOT NULL)`, tenantID, userID).Scan(&on); err != nil {
			return err
		}
		if !on {
			return notFound("two-factor enrolment")
		}
		return replaceRecoveryCodes(ctx, tx, userID, hashes)
	})
}

// DeleteTOTP implements identity.SecondFactorStore.
func (db *DB) DeleteTOTP(ctx context.Context, tenantID, userID string) (bool, error) {
	var deleted bool
	err := db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM user_totp WHERE tenant_id = $1 AND user_id = $2", tenantID, userID)
		if err != nil {
			return err
		}
		if deleted = tag.RowsAffected() == 1; !deleted {
			return nil
		}
		for _, q := range []string{"DELETE FROM recovery_codes WHERE user_id = $1", "DELETE FROM second_factor_attempts WHERE user_id = $1"} {
			if _, err := tx.Exec(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
	return deleted, err
}

// TakeSecondFactorAttempt implements identity.SecondFactorStore. The
// user's row is locked for the history, the verdict and the insert, so
// concurrent guesses on any instances are judged one after the other.
func (db *DB) TakeSecondFactorAttempt(ctx context.Context, userID, address string, now, since time.Time, admit func([]identity.SecondFactorAttempt) bool) (bool, error) {
	if err := rowcodec.Text("address", address); err != nil {
		return false, err
	}
	var ok bool
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", userID).Scan(&one); noRows(err) {
			return notFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM second_factor_attempts WHERE user_id = $1 AND at < $2", userID, since.UTC()); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT address, at FROM second_factor_attempts WHERE user_id = $1 ORDER BY at", userID)
		history, err := collect(rows, err, func(r pgx.Row) (identity.SecondFactorAttempt, error) {
			var a identity.SecondFactorAttempt
			err := r.Scan(&a.Address, &a.At)
			a.At = a.At.UTC()
			return a, err
		})
		if err != nil || !admit(history) {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO second_factor_attempts (user_id, address, at) VALUES ($1, $2, $3)", userID, address, now.UTC()); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

// ClearSecondFactorAttempts implements identity.SecondFactorStore.
func (db *DB) ClearSecondFactorAttempts(ctx context.Context, userID, address string) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM second_factor_attempts WHERE user_id = $1 AND ($2 = '' OR address = $2)", userID, address)
	return formatError(err)
}
