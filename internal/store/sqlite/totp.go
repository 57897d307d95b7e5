package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// PutPendingTOTP implements identity.SecondFactorStore.
func (db *DB) PutPendingTOTP(ctx context.Context, c *identity.TOTPCredential) error {
	if err := rowcodec.Text("user_id", c.UserID, "tenant_id", c.TenantID); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?", c.TenantID, c.UserID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("user")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO user_totp (user_id, tenant_id, secret, created_at, confirmed_at, last_step)
			VALUES (?, ?, ?, ?, NULL, 0)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
			WHERE user_totp.confirmed_at IS NULL`, c.UserID, c.TenantID, c.SecretSealed, tm(c.CreatedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &identity.Error{Code: identity.ECONFLICT, Message: "two-factor authentication is already on for this user"}
		}
		return nil
	})
}

// GetTOTP implements identity.SecondFactorStore.
func (db *DB) GetTOTP(ctx context.Context, tenantID, userID string) (*identity.TOTPCredential, error) {
	var c identity.TOTPCredential
	var created, confirmed sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT user_id, tenant_id, secret, created_at, confirmed_at, last_step,
		(SELECT COUNT(*) FROM recovery_codes WHERE user_id = user_totp.user_id AND used_at IS NULL)
		FROM user_totp WHERE tenant_id = ? AND user_id = ?`, tenantID, userID).
		Scan(&c.UserID, &c.TenantID, &c.SecretSealed, &created, &confirmed, &c.LastStep, &c.RecoveryLeft)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("two-factor enrolment")
	} else if err != nil {
		return nil, formatError(err)
	}
	c.CreatedAt, c.ConfirmedAt = ts(created), ts(confirmed)
	return &c, nil
}

// ConfirmTOTP implements identity.SecondFactorStore.
func (db *DB) ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, hashes [][]byte, now time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var confirmed sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT confirmed_at FROM user_totp WHERE tenant_id = ? AND user_id = ?", tenantID, userID).Scan(&confirmed)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("pending two-factor enrolment")
		} else if err != nil {
			return err
		}
		if confirmed.Valid {
			return &identity.Error{Code: identity.ECONFLICT, Message: "two-factor authentication is already on for this user"}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE user_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ?", tm(now), step, userID); err != nil {
			return err
		}
		return replaceRecoveryCodes(ctx, tx, userID, hashes)
	})
}

func replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID string, hashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)", userID, h); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep implements identity.SecondFactorStore. The comparison is in
// the UPDATE, so of two requests carrying the same code exactly one wins.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	return db.execOne(ctx, `UPDATE user_totp SET last_step = ?
		WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`, step, userID, step)
}

// UseRecoveryCode implements identity.SecondFactorStore.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	return db.execOne(ctx, `UPDATE recovery_codes SET used_at = ?
		WHERE user_id = ? AND hash = ? AND used_at IS NULL`, tm(now), userID, hash)
}

// execOne runs a conditional write and reports whether it changed a row.
func (db *DB) execOne(ctx context.Context, q string, args ...any) (bool, error) {
	var changed bool
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed = n == 1
		return err
	})
	return changed, err
}

// ReplaceRecoveryCodes implements identity.SecondFactorStore.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes [][]byte) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_totp
			WHERE tenant_id = ? AND user_id = ? AND confirmed_at IS NOT NULL`, tenantID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("two-factor enrolment")
		}
		return replaceRecoveryCodes(ctx, tx, userID, hashes)
	})
}

// DeleteTOTP implements identity.SecondFactorStore.
func (db *DB) DeleteTOTP(ctx context.Context, tenantID, userID string) (bool, error) {
	var deleted bool
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM user_totp WHERE tenant_id = ? AND user_id = ?", tenantID, userID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		deleted = n == 1
		if !deleted {
			return nil
		}
		for _, q := range []string{"DELETE FROM recovery_codes WHERE user_id = ?", "DELETE FROM second_factor_attempts WHERE user_id = ?"} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
	return deleted, err
}

// TakeSecondFactorAttempt implements identity.SecondFactorStore. The
// history, the verdict and the insert share one write transaction, so
// concurrent guesses are judged one after the other.
func (db *DB) TakeSecondFactorAttempt(ctx context.Context, userID, address string, now, since time.Time, admit func([]identity.SecondFactorAttempt) bool) (bool, error) {
	if err := rowcodec.Text("address", address); err != nil {
		return false, err
	}
	var ok bool
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM users WHERE id = ?", userID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM second_factor_attempts WHERE user_id = ? AND at < ?", userID, tm(since)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT address, at FROM second_factor_attempts WHERE user_id = ? ORDER BY at, rowid", userID)
		if err != nil {
			return err
		}
		history, err := collect(rows, func(r scanner) (identity.SecondFactorAttempt, error) {
			var a identity.SecondFactorAttempt
			var at sql.NullInt64
			err := r.Scan(&a.Address, &at)
			a.At = ts(at)
			return a, err
		})
		if err != nil || !admit(history) {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO second_factor_attempts (user_id, address, at) VALUES (?, ?, ?)", userID, address, tm(now)); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

// ClearSecondFactorAttempts implements identity.SecondFactorStore.
func (db *DB) ClearSecondFactorAttempts(ctx context.Context, userID, address string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM second_factor_attempts WHERE user_id = ?1 AND (?2 = '' OR address = ?2)", userID, address)
		return err
	})
}
