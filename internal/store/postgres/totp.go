package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
)

func errTOTPOn() error {
	return &identity.Error{Code: identity.ECONFLICT, Message: "two-factor authentication is already on for this user"}
}

// PutPendingTOTP implements identity.SecondFactorStore.
func (db *DB) PutPendingTOTP(ctx context.Context, c *identity.TOTPCredential) error {
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
// user's row is locked for the count and the insert, so concurrent
// guesses on any instances are counted one after the other.
func (db *DB) TakeSecondFactorAttempt(ctx context.Context, userID string, now time.Time, window time.Duration, max int) (int, time.Time, bool, error) {
	var remaining int
	var retryAt time.Time
	var ok bool
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", userID).Scan(&one); noRows(err) {
			return notFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM second_factor_attempts WHERE user_id = $1 AND at <= $2", userID, now.Add(-window).UTC()); err != nil {
			return err
		}
		var n int
		var oldest *time.Time
		if err := tx.QueryRow(ctx, "SELECT count(*), min(at) FROM second_factor_attempts WHERE user_id = $1", userID).Scan(&n, &oldest); err != nil {
			return err
		}
		if n >= max {
			retryAt = tv(oldest).Add(window)
			return nil
		}
		if _, err := tx.Exec(ctx, "INSERT INTO second_factor_attempts (user_id, at) VALUES ($1, $2)", userID, now.UTC()); err != nil {
			return err
		}
		ok, remaining = true, max-n-1
		return nil
	})
	return remaining, retryAt, ok, err
}

// ClearSecondFactorAttempts implements identity.SecondFactorStore.
func (db *DB) ClearSecondFactorAttempts(ctx context.Context, userID string) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM second_factor_attempts WHERE user_id = $1", userID)
	return formatError(err)
}
