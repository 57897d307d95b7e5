package sqlstore

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

const accountTokenCols = "hash, tenant_id, user_id, purpose, email_key, created_at, expires_at, spent_at, event_id, sealed"

func scanAccountToken(r Row) (*identity.AccountToken, error) {
	var t identity.AccountToken
	var created, expires, spent Time
	if err := r.Scan(&t.Hash, &t.TenantID, &t.UserID, &t.Purpose, &t.EmailKey, &created, &expires, &spent, &t.EventID, &t.Sealed); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.SpentAt = created.Time, expires.Time, spent.Time
	return &t, nil
}

// insertEvents appends events in the transaction tx.
func (s Store) insertEvents(ctx context.Context, tx Conn, events []identity.Event) error {
	for _, e := range events {
		if _, err := tx.Exec(ctx, `INSERT INTO events (id, tenant_id, user_id, session_id, type, created_at, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, e.TenantID, e.UserID, e.SessionID, e.Type, s.f.Time(e.CreatedAt), JSON(e.Data)); err != nil {
			return err
		}
	}
	return nil
}

// CreateAccountToken implements identity.AccountTokenStore. The user's
// row is read for update first, so that a token is never created for a
// user being deleted, and concurrent issues for one user serialise.
func (s Store) CreateAccountToken(ctx context.Context, t *identity.AccountToken, events []identity.Event) error {
	if err := EventText(events); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		var id string
		err := tx.QueryRow(ctx, "SELECT id FROM users WHERE tenant_id = $1 AND id = $2"+s.f.ForUpdate, t.TenantID, t.UserID).Scan(&id)
		if s.f.NoRows(err) {
			return NotFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM account_tokens WHERE user_id = $1 AND expires_at <= $2", t.UserID, s.f.Time(t.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE account_tokens SET spent_at = $1, sealed = NULL WHERE user_id = $2 AND purpose = $3 AND spent_at IS NULL",
			s.f.Time(t.CreatedAt), t.UserID, t.Purpose); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO account_tokens ("+accountTokenCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			t.Hash, t.TenantID, t.UserID, t.Purpose, t.EmailKey, s.f.Time(t.CreatedAt), s.f.Time(t.ExpiresAt), s.f.Time(t.SpentAt),
			t.EventID, t.Sealed); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// GetAccountToken implements identity.AccountTokenStore.
func (s Store) GetAccountToken(ctx context.Context, hash []byte) (*identity.AccountToken, error) {
	return one(s, "token", s.f.Read.QueryRow(ctx, "SELECT "+accountTokenCols+" FROM account_tokens WHERE hash = $1", hash), scanAccountToken)
}

// SealedAccountToken implements identity.AccountTokenStore.
func (s Store) SealedAccountToken(ctx context.Context, eventID string) ([]byte, error) {
	return one(s, "token", s.f.Read.QueryRow(ctx, "SELECT sealed FROM account_tokens WHERE event_id = $1 AND sealed IS NOT NULL", eventID),
		func(r Row) ([]byte, error) {
			var b []byte
			err := r.Scan(&b)
			return b, err
		})
}

// SpendAccountToken implements identity.AccountTokenStore. The spend is
// the conditional UPDATE: whichever transaction changes the row first
// wins, and every other finds it spent.
func (s Store) SpendAccountToken(ctx context.Context, hash []byte, purpose string, now time.Time, newHash string, events []identity.Event) error {
	if err := EventText(events); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		var userID string
		err := tx.QueryRow(ctx, `UPDATE account_tokens SET spent_at = $1, sealed = NULL
			WHERE hash = $2 AND purpose = $3 AND spent_at IS NULL AND expires_at > $1
			AND EXISTS (SELECT 1 FROM users WHERE users.id = account_tokens.user_id AND users.email_key = account_tokens.email_key)
			RETURNING user_id`, s.f.Time(now), hash, purpose).Scan(&userID)
		if s.f.NoRows(err) {
			return NotFound("token")
		} else if err != nil {
			return err
		}
		switch purpose {
		case identity.PurposePasswordReset:
			if _, err := tx.Exec(ctx, "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3", newHash, s.f.Time(now), userID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND revoked_at IS NULL",
				s.f.Time(now), "password reset", userID); err != nil {
				return err
			}
			if err := s.retireResetTokens(ctx, tx, userID, now); err != nil {
				return err
			}
		case identity.PurposeEmailVerification:
			if _, err := tx.Exec(ctx, "UPDATE users SET email_verified = $1, updated_at = $2 WHERE id = $3", true, s.f.Time(now), userID); err != nil {
				return err
			}
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// retireResetTokens spends the user's unspent reset tokens: a new
// password makes every reset asked for before it moot.
func (s Store) retireResetTokens(ctx context.Context, tx Conn, userID string, now time.Time) error {
	_, err := tx.Exec(ctx, "UPDATE account_tokens SET spent_at = $1, sealed = NULL WHERE user_id = $2 AND purpose = $3 AND spent_at IS NULL",
		s.f.Time(now), userID, identity.PurposePasswordReset)
	return err
}
