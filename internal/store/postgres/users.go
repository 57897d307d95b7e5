package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// userCols are qualified so that ownersSQL can join them.
const userCols = `users.id, users.tenant_id, users.email, users.username, users.email_verified, users.password_hash, users.first_name,
	users.last_name, users.role, users.roles::text, users.status,
	EXISTS (SELECT 1 FROM user_totp WHERE user_totp.user_id = users.id AND user_totp.confirmed_at IS NOT NULL),
	users.tags::text, users.metadata::text, users.profile::text, users.created_at, users.updated_at, users.last_login_at,
	users.last_seen_at, COALESCE((SELECT string_agg(uo.organisation_id, ',' ORDER BY uo.organisation_id)
		FROM user_organisations uo WHERE uo.user_id = users.id), '')`

func scanUser(r pgx.Row) (*identity.User, error) { return scanWith(r, userScanner) }

func userScanner() (*identity.User, []any, func() error) {
	var u identity.User
	var roles, tags, metadata, profile, orgs string
	var created, updated time.Time
	var lastLogin, lastSeen *time.Time
	return &u, []any{&u.ID, &u.TenantID, &u.Email, &u.Username, &u.EmailVerified, &u.PasswordHash, &u.FirstName, &u.LastName,
			&u.Role, &roles, &u.Status, &u.TwoFactorEnabled, &tags, &metadata, &profile,
			&created, &updated, &lastLogin, &lastSeen, &orgs}, func() error {
			u.CreatedAt, u.UpdatedAt, u.LastLoginAt, u.LastSeenAt = created.UTC(), updated.UTC(), tv(lastLogin), tv(lastSeen)
			if orgs != "" {
				u.OrganisationIDs = strings.Split(orgs, ",")
			}
			return errors.Join(unjs(roles, &u.Roles), unjs(tags, &u.Tags), unjs(metadata, &u.Metadata), unjs(profile, &u.Profile))
		}
}

// userWriteError says what formatError's codes mean for a user row: the
// unique keys are (tenant, email) and (tenant, user name), and the only
// reference the tenant.
func userWriteError(err error) error {
	var pe *pgconn.PgError
	usernameTaken := errors.As(err, &pe) && pe.ConstraintName == "users_username"
	err = formatError(err)
	switch identity.ErrorCode(err) {
	case identity.ECONFLICT:
		if usernameTaken {
			return rowcodec.UsernameTaken(err)
		}
		return rowcodec.EmailTaken(err)
	case identity.ENOTFOUND:
		return notFound("tenant")
	}
	return err
}

// CreateUser implements identity.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *identity.User) error {
	if err := rowcodec.UserText(u); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, email_key, username, username_key, email_verified, password_hash,
			first_name, last_name, role, roles, status, tags, metadata, profile, created_at, updated_at,
			last_login_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
			u.ID, u.TenantID, u.Email, identity.EmailKey(u.Email), u.Username, nullStr(identity.UsernameKey(u.Username)), u.EmailVerified, u.PasswordHash,
			u.FirstName, u.LastName, u.Role, js(u.Roles), u.Status, js(u.Tags), js(u.Metadata),
			js(u.Profile), u.CreatedAt.UTC(), u.UpdatedAt.UTC(), tp(u.LastLoginAt), tp(u.LastSeenAt))
		if err != nil {
			return userWriteError(err)
		}
		return setOrganisations(ctx, tx, u)
	})
}

func setOrganisations(ctx context.Context, tx pgx.Tx, u *identity.User) error {
	if _, err := tx.Exec(ctx, "DELETE FROM user_organisations WHERE user_id = $1", u.ID); err != nil {
		return err
	}
	for _, oid := range u.OrganisationIDs {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1 AND tenant_id = $2)", oid, u.TenantID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return &identity.Error{Code: identity.ENOTFOUND, Field: "organisation_ids", Message: "organisation " + oid + " not found"}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO user_organisations (user_id, organisation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", u.ID, oid); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) oneUser(ctx context.Context, where string, args ...any) (*identity.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE "+where, args...))
	if noRows(err) {
		return nil, notFound("user")
	}
	return u, formatError(err)
}

// GetUser implements identity.UserStore.
func (db *DB) GetUser(ctx context.Context, tenantID, id string) (*identity.User, error) {
	return db.oneUser(ctx, "tenant_id = $1 AND id = $2", tenantID, id)
}

// GetUserByEmail implements identity.UserStore.
func (db *DB) GetUserByEmail(ctx context.Context, tenantID, email string) (*identity.User, error) {
	return db.oneUser(ctx, "tenant_id = $1 AND email_key = $2", tenantID, identity.EmailKey(email))
}

// GetUserByUsername implements identity.UserStore.
func (db *DB) GetUserByUsername(ctx context.Context, tenantID, name string) (*identity.User, error) {
	key := identity.UsernameKey(name)
	if key == "" {
		return nil, notFound("user")
	}
	return db.oneUser(ctx, "tenant_id = $1 AND username_key = $2", tenantID, key)
}

// KnownAddress implements identity.UserStore.
func (db *DB) KnownAddress(ctx context.Context, userID, address string, since time.Time) (bool, error) {
	var known bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM known_addresses
		WHERE user_id = $1 AND address = $2 AND last_login_at >= $3)`, userID, address, since.UTC()).Scan(&known)
	return known, formatError(err)
}

// rememberAddress records that the user logged in from address at at, and
// forgets what is past identity.KnownAddressLifetime or beyond the
// identity.KnownAddressesPerUser most recent.
func rememberAddress(ctx context.Context, tx pgx.Tx, userID, address string, at time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO known_addresses (user_id, address, last_login_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, address) DO UPDATE SET last_login_at = GREATEST(known_addresses.last_login_at, excluded.last_login_at)`,
		userID, address, at.UTC()); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM known_addresses WHERE user_id = $1 AND (last_login_at < $2 OR address NOT IN
		(SELECT address FROM known_addresses WHERE user_id = $1 ORDER BY last_login_at DESC LIMIT $3))`,
		userID, at.Add(-identity.KnownAddressLifetime).UTC(), identity.KnownAddressesPerUser)
	return err
}

// UpdateUser implements identity.UserStore. Disabling the user or changing
// its password revokes its live sessions in the same transaction; the row
// lock serialises concurrent updates of one user.
func (db *DB) UpdateUser(ctx context.Context, u *identity.User) error {
	if err := rowcodec.UserText(u); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var oldHash string
		err := tx.QueryRow(ctx, "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE", u.TenantID, u.ID).Scan(&oldHash)
		if noRows(err) {
			return notFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET email = $1, email_key = $2, email_verified = $3, password_hash = $4,
			first_name = $5, last_name = $6, role = $7, roles = $8, status = $9, tags = $10, metadata = $11,
			profile = $12, updated_at = $13, username = $16, username_key = $17 WHERE tenant_id = $14 AND id = $15`,
			u.Email, identity.EmailKey(u.Email), u.EmailVerified, u.PasswordHash, u.FirstName, u.LastName, u.Role,
			js(u.Roles), u.Status, js(u.Tags), js(u.Metadata), js(u.Profile), u.UpdatedAt.UTC(),
			u.TenantID, u.ID, u.Username, nullStr(identity.UsernameKey(u.Username))); err != nil {
			return userWriteError(err)
		}
		if reason := identity.RevokeReason(u, oldHash); reason != "" {
			if _, err := tx.Exec(ctx, "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND revoked_at IS NULL",
				u.UpdatedAt.UTC(), reason, u.ID); err != nil {
				return err
			}
		}
		return setOrganisations(ctx, tx, u)
	})
}

// DeleteUser implements identity.UserStore.
func (db *DB) DeleteUser(ctx context.Context, tenantID, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM users WHERE tenant_id = $1 AND id = $2", tenantID, id)
	if err != nil {
		return formatError(err)
	}
	return affected(tag, "user")
}

// ListUsers implements identity.UserStore.
func (db *DB) ListUsers(ctx context.Context, tenantID string, f identity.UserFilter, p identity.Page) ([]*identity.User, string, error) {
	after, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	q := "SELECT " + userCols + " FROM users WHERE tenant_id = $1 AND id > $2"
	args := []any{tenantID, after}
	if f.Email != "" {
		args = append(args, identity.EmailKey(f.Email))
		q += " AND email_key = $" + itoa(len(args))
	}
	if f.Username != "" {
		args = append(args, identity.UsernameKey(f.Username))
		q += " AND username_key = $" + itoa(len(args))
	}
	if p := identity.EmailKey(f.EmailPrefix); p != "" {
		args = append(args, p)
		q += " AND starts_with(email_key, $" + itoa(len(args)) + ")"
	}
	args = append(args, n+1)
	rows, err := db.pool.Query(ctx, q+" ORDER BY id LIMIT $"+itoa(len(args)), args...)
	out, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, "", err
	}
	return rowcodec.Page(out, n, func(u *identity.User) string { return u.ID })
}
