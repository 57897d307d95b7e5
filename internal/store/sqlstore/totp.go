package sqlstore

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

func errTOTPOn() error {
	return &identity.Error{Code: identity.ECONFLICT, Message: "two-factor authentication is already on for this user"}
}

// PutPendingTOTP implements identity.SecondFactorStore.
func (s Store) PutPendingTOTP(ctx context.Context, c *identity.TOTPCredential) error {
	if err := Text("user_id", c.UserID, "tenant_id", c.TenantID); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2)", c.TenantID, c.UserID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return NotFound("user")
		}
		n, err := tx.Exec(ctx, `INSERT INTO user_totp (user_id, tenant_id, secret, created_at, confirmed_at, last_step)
			VALUES ($1, $2, $3, $4, NULL, 0)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
			WHERE user_totp.confirmed_at IS NULL`, c.UserID, c.TenantID, c.SecretSealed, s.f.Time(c.CreatedAt))
		if err == nil && n == 0 {
			return errTOTPOn()
		}
		return err
	})
}

// GetTOTP implements identity.SecondFactorChecks.
func (s Store) GetTOTP(ctx context.Context, tenantID, userID string) (*identity.TOTPCredential, error) {
	return one(s, "two-factor enrolment", s.f.Read.QueryRow(ctx, `SELECT user_id, tenant_id, secret, created_at, confirmed_at, last_step,
		(SELECT count(*) FROM recovery_codes WHERE user_id = user_totp.user_id AND used_at IS NULL)
		FROM user_totp WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID), func(r Row) (*identity.TOTPCredential, error) {
		var c identity.TOTPCredential
		var created, confirmed Time
		if err := r.Scan(&c.UserID, &c.TenantID, &c.SecretSealed, &created, &confirmed, &c.LastStep, &c.RecoveryLeft); err != nil {
			return nil, err
		}
		c.CreatedAt, c.ConfirmedAt = created.Time, confirmed.Time
		return &c, nil
	})
}

// ConfirmTOTP implements identity.SecondFactorStore.
func (s Store) ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, hashes [][]byte, now time.Time, events ...identity.Event) error {
	if err := EventText(events); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		var confirmed Time
		err := tx.QueryRow(ctx, "SELECT confirmed_at FROM user_totp WHERE tenant_id = $1 AND user_id = $2"+s.f.ForUpdate, tenantID, userID).Scan(&confirmed)
		if s.f.NoRows(err) {
			return NotFound("two-factor enrolment")
		} else if err != nil {
			return err
		}
		if !confirmed.IsZero() {
			return errTOTPOn()
		}
		if _, err := tx.Exec(ctx, "UPDATE user_totp SET confirmed_at = $1, last_step = $2 WHERE user_id = $3", s.f.Time(now), step, userID); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, tx, userID, hashes); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

func replaceRecoveryCodes(ctx context.Context, tx Conn, userID string, hashes [][]byte) error {
	if _, err := tx.Exec(ctx, "DELETE FROM recovery_codes WHERE user_id = $1", userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.Exec(ctx, "INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)", userID, h); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep implements identity.SecondFactorChecks. The check and the
// write are one statement: of concurrent requests carrying the same code
// (on any instances) exactly one wins, where rows lock because a
// concurrent one waits for the row and re-checks.
func (s Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	return s.changed(ctx, `UPDATE user_totp SET last_step = $1
		WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1`, step, userID)
}

// UseRecoveryCode implements identity.SecondFactorChecks.
func (s Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	return s.changed(ctx, "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL", s.f.Time(now), userID, hash)
}

// ReplaceRecoveryCodes implements identity.SecondFactorStore.
func (s Store) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes [][]byte) error {
	return s.f.Tx(ctx, func(tx Conn) error {
		var on bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM user_totp
			WHERE tenant_id = $1 AND user_id = $2 AND confirmed_at IS NOT NULL)`, tenantID, userID).Scan(&on); err != nil {
			return err
		}
		if !on {
			return NotFound("two-factor enrolment")
		}
		return replaceRecoveryCodes(ctx, tx, userID, hashes)
	})
}

// DeleteTOTP implements identity.SecondFactorStore.
func (s Store) DeleteTOTP(ctx context.Context, tenantID, userID string, events ...identity.Event) (bool, error) {
	if err := EventText(events); err != nil {
		return false, err
	}
	var deleted bool
	err := s.f.Tx(ctx, func(tx Conn) error {
		n, err := tx.Exec(ctx, "DELETE FROM user_totp WHERE tenant_id = $1 AND user_id = $2", tenantID, userID)
		if err != nil {
			return err
		}
		if deleted = n == 1; !deleted {
			return nil
		}
		for _, q := range []string{"DELETE FROM recovery_codes WHERE user_id = $1", "DELETE FROM second_factor_attempts WHERE user_id = $1"} {
			if _, err := tx.Exec(ctx, q, userID); err != nil {
				return err
			}
		}
		return s.insertEvents(ctx, tx, events)
	})
	if err != nil {
		deleted = false // rolled back
	}
	return deleted, err
}

// TakeSecondFactorAttempt implements identity.SecondFactorChecks. The
// history, the verdict and the insert share one write transaction (which
// locks the user's row where rows lock), so concurrent guesses on any
// instances are judged one after the other.
func (s Store) TakeSecondFactorAttempt(ctx context.Context, userID, address string, now, since time.Time, admit func([]identity.SecondFactorAttempt) bool) (bool, error) {
	if err := Text("address", address); err != nil {
		return false, err
	}
	var ok bool
	err := s.f.Tx(ctx, func(tx Conn) error {
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM users WHERE id = $1"+s.f.ForUpdate, userID).Scan(&one); s.f.NoRows(err) {
			return NotFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM second_factor_attempts WHERE user_id = $1 AND at < $2", userID, s.f.Time(since)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT address, at FROM second_factor_attempts WHERE user_id = $1 ORDER BY at", userID)
		history, err := Collect(rows, err, func(r Row) (identity.SecondFactorAttempt, error) {
			var a identity.SecondFactorAttempt
			var at Time
			err := r.Scan(&a.Address, &at)
			a.At = at.Time
			return a, err
		})
		if err != nil || !admit(history) {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO second_factor_attempts (user_id, address, at) VALUES ($1, $2, $3)", userID, address, s.f.Time(now)); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

// ClearSecondFactorAttempts implements identity.SecondFactorChecks.
func (s Store) ClearSecondFactorAttempts(ctx context.Context, userID, address string) error {
	_, err := s.exec(ctx, "DELETE FROM second_factor_attempts WHERE user_id = $1 AND ($2 = '' OR address = $2)", userID, address)
	return err
}
