package sqlstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/latchauth/latch/internal/identity"
)

// userCols are a user's columns as UserScanner reads them, qualified so
// that the owners' join can take them, with orgs the flavour's list of
// the user's organisation ids.
func userCols(orgs string) string {
	return `users.id, users.tenant_id, users.email, users.username, users.email_verified, users.password_hash, users.first_name,
	users.last_name, users.role, users.roles, users.status,
	EXISTS (SELECT 1 FROM user_totp WHERE user_totp.user_id = users.id AND user_totp.confirmed_at IS NOT NULL),
	users.tags, users.metadata, users.profile, users.created_at, users.updated_at, users.last_login_at,
	users.last_seen_at, users.migrated_from, COALESCE(` + orgs + `, '')`
}

// UserCols are a user's columns as UserScanner reads them.
func (s Store) UserCols() string { return s.userCols }

// ScanUser reads a row of UserCols.
func ScanUser(r Row) (*identity.User, error) { return scanWith(r, UserScanner) }

// UserScanner returns a user, the destinations of UserCols and what to do
// once they are filled.
func UserScanner() (*identity.User, []any, func() error) {
	var u identity.User
	var roles, tags, metadata, profile, orgs string
	var created, updated, lastLogin, lastSeen Time
	return &u, []any{&u.ID, &u.TenantID, &u.Email, &u.Username, &u.EmailVerified, &u.PasswordHash, &u.FirstName, &u.LastName,
			&u.Role, &roles, &u.Status, &u.TwoFactorEnabled, &tags, &metadata, &profile,
			&created, &updated, &lastLogin, &lastSeen, &u.MigratedFrom, &orgs}, func() error {
			u.CreatedAt, u.UpdatedAt, u.LastLoginAt, u.LastSeenAt = created.Time, updated.Time, lastLogin.Time, lastSeen.Time
			if orgs != "" {
				u.OrganisationIDs = strings.Split(orgs, ",")
			}
			return errors.Join(FromJSON(roles, &u.Roles), FromJSON(tags, &u.Tags), FromJSON(metadata, &u.Metadata), FromJSON(profile, &u.Profile))
		}
}

// PrefixEnd is the least string above every string that starts with
// prefix, in code point order (UTF-8's byte order): prefix with its last
// character incremented. So "s starts with prefix" is
// prefix <= s < PrefixEnd(prefix), a range an index serves; "" when
// there is no upper bound.
func PrefixEnd(prefix string) string {
	r := []rune(prefix)
	for len(r) > 0 {
		last := r[len(r)-1]
		switch {
		case last == unicode.MaxRune:
			r = r[:len(r)-1] // nothing above it: carry into the character before
			continue
		case last == 0xD7FF:
			last = 0xE000 // skip the surrogates, which are not characters
		default:
			last++
		}
		r[len(r)-1] = last
		return string(r)
	}
	return "" // the prefix is all U+10FFFF: no string is above those that start with it
}

// userWriteError says what the store's codes mean for a user row: the
// unique keys are (tenant, email) and (tenant, user name), and the only
// reference the tenant.
func (s Store) userWriteError(err error) error {
	usernameTaken := err != nil && s.f.UsernameTaken(err)
	err = s.f.Error(err)
	switch identity.ErrorCode(err) {
	case identity.ECONFLICT:
		if usernameTaken {
			return UsernameTaken(err)
		}
		return EmailTaken(err)
	case identity.ENOTFOUND:
		return NotFound("tenant")
	}
	return err
}

// InsertUserSQL inserts one user row from UserArgs; an import appends
// ON CONFLICT DO NOTHING.
const InsertUserSQL = `INSERT INTO users (id, tenant_id, email, email_key, username, username_key, email_verified, password_hash,
	first_name, last_name, role, roles, status, tags, metadata, profile, created_at, updated_at,
	last_login_at, last_seen_at, migrated_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`

// UserArgs are the arguments of InsertUserSQL for u.
func (s Store) UserArgs(u *identity.User) []any {
	return []any{u.ID, u.TenantID, u.Email, identity.EmailKey(u.Email), u.Username, NullString(identity.UsernameKey(u.Username)), u.EmailVerified, u.PasswordHash,
		u.FirstName, u.LastName, u.Role, JSON(u.Roles), u.Status, JSON(u.Tags), JSON(u.Metadata),
		JSON(u.Profile), s.f.Time(u.CreatedAt), s.f.Time(u.UpdatedAt), s.f.Time(u.LastLoginAt), s.f.Time(u.LastSeenAt), u.MigratedFrom}
}

// CreateUser implements identity.UserStore.
func (s Store) CreateUser(ctx context.Context, u *identity.User, events ...identity.Event) error {
	if err := errors.Join(UserText(u), EventText(events)); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		if _, err := tx.Exec(ctx, InsertUserSQL, s.UserArgs(u)...); err != nil {
			return s.userWriteError(err)
		}
		if err := setOrganisations(ctx, tx, u); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

func setOrganisations(ctx context.Context, tx Conn, u *identity.User) error {
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

func (s Store) oneUser(ctx context.Context, where string, args ...any) (*identity.User, error) {
	return s.User(s.f.Read.QueryRow(ctx, "SELECT "+s.userCols+" FROM users WHERE "+where, args...))
}

// User reads a row of UserCols, with the store's errors.
func (s Store) User(row Row) (*identity.User, error) { return one(s, "user", row, ScanUser) }

// GetUser implements identity.UserStore.
func (s Store) GetUser(ctx context.Context, tenantID, id string) (*identity.User, error) {
	return s.oneUser(ctx, "tenant_id = $1 AND id = $2", tenantID, id)
}

// GetUserByEmail implements identity.UserStore.
func (s Store) GetUserByEmail(ctx context.Context, tenantID, email string) (*identity.User, error) {
	return s.oneUser(ctx, "tenant_id = $1 AND email_key = $2", tenantID, identity.EmailKey(email))
}

// GetUserByUsername implements identity.UserStore.
func (s Store) GetUserByUsername(ctx context.Context, tenantID, name string) (*identity.User, error) {
	key := identity.UsernameKey(name)
	if key == "" {
		return nil, NotFound("user")
	}
	return s.oneUser(ctx, "tenant_id = $1 AND username_key = $2", tenantID, key)
}

// KnownAddress implements identity.UserStore.
func (s Store) KnownAddress(ctx context.Context, userID, address string, since time.Time) (bool, error) {
	var known bool
	err := s.f.Read.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM known_addresses
		WHERE user_id = $1 AND address = $2 AND last_login_at >= $3)`, userID, address, s.f.Time(since)).Scan(&known)
	return known, s.f.Error(err)
}

// rememberAddress records, in a login's transaction tx, that the user
// logged in from address at at, and forgets what is past
// identity.KnownAddressLifetime or beyond the
// identity.KnownAddressesPerUser most recent.
func (s Store) rememberAddress(ctx context.Context, tx Conn, userID, address string, at time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO known_addresses (user_id, address, last_login_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, address) DO UPDATE SET last_login_at = CASE
			WHEN excluded.last_login_at > known_addresses.last_login_at THEN excluded.last_login_at ELSE known_addresses.last_login_at END`,
		userID, address, s.f.Time(at)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM known_addresses WHERE user_id = $1 AND (last_login_at < $2 OR address NOT IN
		(SELECT address FROM known_addresses WHERE user_id = $1 ORDER BY last_login_at DESC LIMIT $3))`,
		userID, s.f.Time(at.Add(-identity.KnownAddressLifetime)), identity.KnownAddressesPerUser)
	return err
}

// UpdateUser implements identity.UserStore. Disabling the user or changing
// its password revokes its live sessions in the same transaction, so no
// crash can leave a stolen refresh token working after either; where rows
// lock, the user's row serialises concurrent updates of one user.
func (s Store) UpdateUser(ctx context.Context, u *identity.User, events ...identity.Event) error {
	if err := errors.Join(UserText(u), EventText(events)); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		var oldHash string
		err := tx.QueryRow(ctx, "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2"+s.f.ForUpdate, u.TenantID, u.ID).Scan(&oldHash)
		if s.f.NoRows(err) {
			return NotFound("user")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET email = $1, email_key = $2, email_verified = $3, password_hash = $4,
			first_name = $5, last_name = $6, role = $7, roles = $8, status = $9, tags = $10, metadata = $11,
			profile = $12, updated_at = $13, username = $16, username_key = $17 WHERE tenant_id = $14 AND id = $15`,
			u.Email, identity.EmailKey(u.Email), u.EmailVerified, u.PasswordHash, u.FirstName, u.LastName, u.Role,
			JSON(u.Roles), u.Status, JSON(u.Tags), JSON(u.Metadata), JSON(u.Profile), s.f.Time(u.UpdatedAt),
			u.TenantID, u.ID, u.Username, NullString(identity.UsernameKey(u.Username))); err != nil {
			return s.userWriteError(err)
		}
		if reason := identity.RevokeReason(u, oldHash); reason != "" {
			if _, err := tx.Exec(ctx, "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND revoked_at IS NULL",
				s.f.Time(u.UpdatedAt), reason, u.ID); err != nil {
				return err
			}
		}
		if u.PasswordHash != oldHash {
			if err := s.retireResetTokens(ctx, tx, u.ID, u.UpdatedAt); err != nil {
				return err
			}
		}
		if err := setOrganisations(ctx, tx, u); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// CountUsers implements identity.UserStore.
func (s Store) CountUsers(ctx context.Context, tenantID string) (total, migrated int, err error) {
	err = s.f.Read.QueryRow(ctx, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN migrated_from <> '' THEN 1 ELSE 0 END), 0) FROM users WHERE tenant_id = $1",
		tenantID).Scan(&total, &migrated)
	return total, migrated, s.f.Error(err)
}

// DeleteUser implements identity.UserStore.
func (s Store) DeleteUser(ctx context.Context, tenantID, id string, events ...identity.Event) error {
	if err := EventText(events); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		n, err := tx.Exec(ctx, "DELETE FROM users WHERE tenant_id = $1 AND id = $2", tenantID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return NotFound("user")
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// ListUsers implements identity.UserStore.
func (s Store) ListUsers(ctx context.Context, tenantID string, f identity.UserFilter, p identity.Page) ([]*identity.User, string, error) {
	after, err := AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := Limit(p)
	q := "SELECT " + s.userCols + " FROM users WHERE tenant_id = $1"
	args := []any{tenantID, after}
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	order, key := " AND id > $2 ORDER BY id", func(u *identity.User) string { return u.ID }
	if prefix := identity.EmailKey(f.EmailPrefix); prefix != "" {
		// A range of the email key, read in its order, a page at a time,
		// from an index (where substr or an unescaped LIKE would read every
		// user of the tenant, and an order by id would sort every match).
		b := s.f.Bytewise
		q += " AND email_key " + b.GE + " " + param(prefix)
		if end := PrefixEnd(prefix); end != "" {
			q += " AND email_key " + b.LT + " " + param(end)
		}
		order, key = " AND email_key "+b.GT+" $2 ORDER BY "+b.Order, func(u *identity.User) string { return identity.EmailKey(u.Email) }
	}
	if f.Email != "" {
		q += " AND email_key = " + param(identity.EmailKey(f.Email))
	}
	if f.Username != "" {
		q += " AND username_key = " + param(identity.UsernameKey(f.Username))
	}
	out, err := list(ctx, s, ScanUser, q+order+" LIMIT "+param(n+1), args...)
	if err != nil {
		return nil, "", err
	}
	return Page(out, n, key)
}
