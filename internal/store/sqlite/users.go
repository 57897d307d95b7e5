package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// userCols are qualified so that ownersSQL can join them.
const userCols = `users.id, users.tenant_id, users.email, users.username, users.email_verified, users.password_hash, users.first_name,
	users.last_name, users.role, users.roles, users.status,
	EXISTS (SELECT 1 FROM user_totp WHERE user_totp.user_id = users.id AND user_totp.confirmed_at IS NOT NULL),
	users.tags, users.metadata, users.profile, users.created_at, users.updated_at, users.last_login_at, users.last_seen_at,
	COALESCE((SELECT group_concat(organisation_id) FROM (SELECT uo.organisation_id FROM user_organisations uo
		WHERE uo.user_id = users.id ORDER BY uo.organisation_id)), '')`

func scanUser(s scanner) (*identity.User, error) { return scanWith(s, userScanner) }

func userScanner() (*identity.User, []any, func() error) {
	var u identity.User
	var roles, tags, metadata, profile, orgs string
	var created, updated, lastLogin, lastSeen sql.NullInt64
	return &u, []any{&u.ID, &u.TenantID, &u.Email, &u.Username, &u.EmailVerified, &u.PasswordHash, &u.FirstName, &u.LastName,
			&u.Role, &roles, &u.Status, &u.TwoFactorEnabled, &tags, &metadata, &profile,
			&created, &updated, &lastLogin, &lastSeen, &orgs}, func() error {
			u.CreatedAt, u.UpdatedAt, u.LastLoginAt, u.LastSeenAt = ts(created), ts(updated), ts(lastLogin), ts(lastSeen)
			if orgs != "" {
				u.OrganisationIDs = strings.Split(orgs, ",")
			}
			return errors.Join(unjs(roles, &u.Roles), unjs(tags, &u.Tags), unjs(metadata, &u.Metadata), unjs(profile, &u.Profile))
		}
}

// CreateUser implements identity.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *identity.User) error {
	if err := rowcodec.UserText(u); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, tenant_id, email, email_key, username, username_key, email_verified, password_hash,
			first_name, last_name, role, roles, status, tags, metadata, profile, created_at, updated_at,
			last_login_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.TenantID, u.Email, identity.EmailKey(u.Email), u.Username, nullStr(identity.UsernameKey(u.Username)), u.EmailVerified, u.PasswordHash,
			u.FirstName, u.LastName, u.Role, js(u.Roles), u.Status, js(u.Tags), js(u.Metadata),
			js(u.Profile), tm(u.CreatedAt), tm(u.UpdatedAt), tm(u.LastLoginAt), tm(u.LastSeenAt))
		if err != nil {
			return userWriteError(err)
		}
		return setOrganisations(ctx, tx, u)
	})
}

// userWriteError says what formatError's codes mean for a user row: the
// unique keys are (tenant, email) and (tenant, user name), and the only
// reference the tenant.
func userWriteError(err error) error {
	usernameTaken := err != nil && strings.Contains(err.Error(), "username_key")
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

func setOrganisations(ctx context.Context, tx *sql.Tx, u *identity.User) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM user_organisations WHERE user_id = ?", u.ID); err != nil {
		return err
	}
	for _, oid := range u.OrganisationIDs {
		res, err := tx.ExecContext(ctx, `INSERT INTO user_organisations (user_id, organisation_id)
			SELECT ?, id FROM organisations WHERE id = ? AND tenant_id = ? ON CONFLICT DO NOTHING`, u.ID, oid, u.TenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var dup int
			tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM user_organisations WHERE user_id = ? AND organisation_id = ?", u.ID, oid).Scan(&dup)
			if dup == 0 {
				return &identity.Error{Code: identity.ENOTFOUND, Field: "organisation_ids", Message: "organisation " + oid + " not found"}
			}
		}
	}
	return nil
}

// GetUser implements identity.UserStore.
func (db *DB) GetUser(ctx context.Context, tenantID, id string) (*identity.User, error) {
	u, err := scanUser(db.getUser.QueryRowContext(ctx, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, formatError(err)
}

// GetUserByEmail implements identity.UserStore.
func (db *DB) GetUserByEmail(ctx context.Context, tenantID, email string) (*identity.User, error) {
	u, err := scanUser(db.getUserByEmail.QueryRowContext(ctx, tenantID, identity.EmailKey(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, formatError(err)
}

// GetUserByUsername implements identity.UserStore.
func (db *DB) GetUserByUsername(ctx context.Context, tenantID, name string) (*identity.User, error) {
	key := identity.UsernameKey(name)
	if key == "" {
		return nil, notFound("user")
	}
	u, err := scanUser(db.r.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE tenant_id = ? AND username_key = ?", tenantID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, formatError(err)
}

// KnownAddress implements identity.UserStore.
func (db *DB) KnownAddress(ctx context.Context, userID, address string, since time.Time) (bool, error) {
	var known bool
	err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM known_addresses
		WHERE user_id = ? AND address = ? AND last_login_at >= ?)`, userID, address, tm(since)).Scan(&known)
	return known, formatError(err)
}

// rememberAddress records that the user logged in from address at at, and
// forgets what is past identity.KnownAddressLifetime or beyond the
// identity.KnownAddressesPerUser most recent.
func rememberAddress(ctx context.Context, tx *sql.Tx, userID, address string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO known_addresses (user_id, address, last_login_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id, address) DO UPDATE SET last_login_at = MAX(last_login_at, excluded.last_login_at)`,
		userID, address, tm(at)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM known_addresses WHERE user_id = ?1 AND (last_login_at < ?2 OR address NOT IN
		(SELECT address FROM known_addresses WHERE user_id = ?1 ORDER BY last_login_at DESC LIMIT ?3))`,
		userID, tm(at.Add(-identity.KnownAddressLifetime)), identity.KnownAddressesPerUser)
	return err
}

// UpdateUser implements identity.UserStore. Disabling the user or changing
// its password revokes its live sessions in the same transaction, so no
// crash can leave a stolen refresh token working after either.
func (db *DB) UpdateUser(ctx context.Context, u *identity.User) error {
	if err := rowcodec.UserText(u); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var oldHash string
		err := tx.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE tenant_id = ? AND id = ?", u.TenantID, u.ID).Scan(&oldHash)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, email_key = ?, username = ?, username_key = ?, email_verified = ?, password_hash = ?,
			first_name = ?, last_name = ?, role = ?, roles = ?, status = ?, tags = ?, metadata = ?,
			profile = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			u.Email, identity.EmailKey(u.Email), u.Username, nullStr(identity.UsernameKey(u.Username)), u.EmailVerified, u.PasswordHash, u.FirstName, u.LastName, u.Role,
			js(u.Roles), u.Status, js(u.Tags), js(u.Metadata), js(u.Profile), tm(u.UpdatedAt),
			u.TenantID, u.ID); err != nil {
			return userWriteError(err)
		}
		if reason := identity.RevokeReason(u, oldHash); reason != "" {
			if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE user_id = ? AND revoked_at IS NULL",
				tm(u.UpdatedAt), reason, u.ID); err != nil {
				return err
			}
		}
		return setOrganisations(ctx, tx, u)
	})
}

// DeleteUser implements identity.UserStore.
func (db *DB) DeleteUser(ctx context.Context, tenantID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM users WHERE tenant_id = ? AND id = ?", tenantID, id)
		if err != nil {
			return err
		}
		return affected(res, "user")
	})
}

// ListUsers implements identity.UserStore.
func (db *DB) ListUsers(ctx context.Context, tenantID string, f identity.UserFilter, p identity.Page) ([]*identity.User, string, error) {
	after, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	q := "SELECT " + userCols + " FROM users WHERE tenant_id = ? AND id > ?"
	args := []any{tenantID, after}
	if f.Email != "" {
		q += " AND email_key = ?"
		args = append(args, identity.EmailKey(f.Email))
	}
	if f.Username != "" {
		q += " AND username_key = ?"
		args = append(args, identity.UsernameKey(f.Username))
	}
	if p := identity.EmailKey(f.EmailPrefix); p != "" {
		q += " AND substr(email_key, 1, length(?)) = ?"
		args = append(args, p, p)
	}
	rows, err := db.r.QueryContext(ctx, q+" ORDER BY id LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", formatError(err)
	}
	defer rows.Close()
	var out []*identity.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, "", formatError(err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", formatError(err)
	}
	return rowcodec.Page(out, n, func(u *identity.User) string { return u.ID })
}
