package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Upstream dialects a tenant can migrate from lazily (TenantMigration.Dialect).
const (
	UpstreamAccountsV3 = "accounts-v3"
	UpstreamAppAuth    = "app-auth"
	UpstreamTokenLogin = "token-login"
)

// EventMigrated records that a password login created the user from the
// hosted API the tenant is moving from (see TenantMigration).
const EventMigrated = "user.migrated"

// UpstreamRetryAfter is what a login that could not reach the upstream
// tells its caller to wait: long enough for a restart or a network blip,
// short enough that a user retrying by hand is not sent away for long.
const UpstreamRetryAfter = 30 * time.Second

// TenantMigration is the tenant setting "migration": the hosted API its
// users come from. While it is set, a password login for an email (or,
// from token-login, a user name) that the tenant does not have is checked
// once at that API in its own wire format; success creates the user.
type TenantMigration struct {
	Dialect      string `json:"dialect"`  // UpstreamAccountsV3, UpstreamAppAuth or UpstreamTokenLogin
	BaseURL      string `json:"base_url"` // scheme://host[:port][/path], no trailing slash
	AccountID    string `json:"account_id,omitempty"`
	AccountAlias string `json:"account_alias,omitempty"`
	AppID        string `json:"app_id,omitempty"`
	// APIKey is token-login's APIKey as an admin writes it. It is sealed
	// into APIKeySealed on write and never stored in clear or shown; an
	// update that leaves it out keeps the stored one.
	APIKey string `json:"api_key,omitempty"`
	// APIKeySealed is the stored, sealed API key (TenantMigrationSealAD).
	APIKeySealed []byte `json:"api_key_sealed,omitempty"`
	// APIKeySet is what the admin API shows instead of the key.
	APIKeySet bool `json:"api_key_set,omitempty"`
}

// TenantMigrationSealAD is the associated data a tenant's upstream API key
// is sealed with, so that a sealed key copied to another tenant does not open.
func TenantMigrationSealAD(tenantID string) []byte { return []byte("migration:" + tenantID) }

// Shown is the settings as an admin may see them: the sealed upstream API
// key is replaced by api_key_set.
func (s TenantSettings) Shown() TenantSettings {
	if s.Migration != nil {
		m := *s.Migration
		m.APIKeySet = len(m.APIKeySealed) > 0
		m.APIKey, m.APIKeySealed = "", nil
		s.Migration = &m
	}
	return s
}

// checkMigration validates the migration setting an admin wrote, seals
// its API key, and keeps the stored key when a token-login setting for the
// same base URL leaves it out (an admin never sees it to send it back).
func checkMigration(m, old *TenantMigration, tenantID string, sealer Sealer) error {
	if m == nil {
		return nil
	}
	const f = "settings.migration."
	m.BaseURL = strings.TrimSuffix(strings.TrimSpace(m.BaseURL), "/")
	u, err := url.Parse(m.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(m.BaseURL, "?#") || utf8.RuneCountInString(m.BaseURL) > 1024 {
		return Invalid(f+"base_url", "must be the upstream's http or https base URL, like https://api.example.com, without query or credentials")
	}
	set := m.APIKey != ""
	m.APIKeySealed, m.APIKeySet = nil, false // never taken from a caller
	switch m.Dialect {
	case UpstreamAccountsV3:
		m.AppID, m.APIKey = "", ""
		m.AccountAlias = strings.TrimSpace(m.AccountAlias)
		switch {
		case m.AccountID == "" && m.AccountAlias == "":
			return Invalid(f+"account_id", "account_id or account_alias is required for accounts-v3")
		case utf8.RuneCountInString(m.AccountID) > 36:
			return Invalid(f+"account_id", "must be at most 36 characters")
		case utf8.RuneCountInString(m.AccountAlias) > maxText:
			return Invalid(f+"account_alias", "must be at most %d characters", maxText)
		}
	case UpstreamAppAuth:
		m.AccountID, m.AccountAlias, m.APIKey = "", "", ""
		if _, err := uuid.Parse(m.AppID); err != nil || len(m.AppID) != 36 {
			return Invalid("settings.migration.app_id", "must be the UUID of the app at the upstream")
		}
	case UpstreamTokenLogin:
		m.AccountID, m.AccountAlias, m.AppID = "", "", ""
		switch {
		case set && utf8.RuneCountInString(m.APIKey) > maxText:
			return Invalid(f+"api_key", "must be at most %d characters", maxText)
		case set && sealer == nil:
			return Internal(errors.New("no sealer for the migration API key"))
		case set:
			m.APIKeySealed = sealer.Seal([]byte(m.APIKey), TenantMigrationSealAD(tenantID))
		case old != nil && old.Dialect == UpstreamTokenLogin && old.BaseURL == m.BaseURL && len(old.APIKeySealed) > 0:
			m.APIKeySealed = old.APIKeySealed
		default:
			return Invalid(f+"api_key", "is required for token-login (the key the upstream issued)")
		}
		m.APIKey = ""
	default:
		return Invalid(f+"dialect", "must be %q, %q or %q", UpstreamAccountsV3, UpstreamAppAuth, UpstreamTokenLogin)
	}
	return nil
}

// Upstream checks a password at the hosted API a tenant is moving from
// (package upstream speaks the wire formats). m carries the API key in
// clear (APIKey). Authenticate returns an error wrapping
// ErrUpstreamRejected when the upstream refused the credentials, and
// ErrUpstreamUnavailable when it could not be asked or did not answer
// usably (down, timeout, 5xx, an unexpected answer): then the password
// may well be right.
type Upstream interface {
	Authenticate(ctx context.Context, m TenantMigration, login, password string) (*UpstreamUser, error)
}

// Upstream outcomes.
var (
	ErrUpstreamRejected    = errors.New("upstream refused the credentials")
	ErrUpstreamUnavailable = errors.New("upstream unavailable")
)

// UpstreamUser is what an upstream's login answer tells about the user;
// fields it does not carry are zero.
type UpstreamUser struct {
	ID            string // the upstream's id, kept in the profile as migrated_id
	Email         string
	EmailVerified bool
	FirstName     string
	LastName      string
	Tags          []string
	Profile       map[string]any // dialect extras under the keys latch's dialects read
}

// MigrationUsers is what lazy migration writes: the user it creates.
type MigrationUsers interface {
	// CreateUser is UserStore.CreateUser.
	CreateUser(ctx context.Context, u *User, events ...Event) error
}

// migrating reports whether a login for an unknown name goes upstream.
func (a *Auth) migrating(t *Tenant) bool {
	return t != nil && t.Settings.Migration != nil && a.Upstream != nil && a.Migrations != nil
}

// placeholderDomain is the domain of the email a user migrated by user
// name gets: token-login's answer carries no email, and latch's users
// have one. ".invalid" (RFC 2606) can never be delivered to.
const placeholderDomain = "@migrated.invalid"

// migrate asks the tenant's upstream about a login name the tenant does
// not have. It returns the user created from the upstream's answer and
// verified true; the user a concurrent first login created, to be
// verified by the caller; or nil when the upstream refused (the caller
// answers as for any unknown name). An unreachable upstream is
// EUNAVAILABLE: never a 401, since the password may be right.
func (a *Auth) migrate(ctx context.Context, tenant *Tenant, name string, byUsername bool, req LoginRequest) (user *User, verified bool, err error) {
	m := *tenant.Settings.Migration
	if byUsername && m.Dialect != UpstreamTokenLogin {
		return nil, false, nil // only token-login logs in by user name
	}
	if len(m.APIKeySealed) > 0 {
		key, err := a.MigrationSealer.Open(m.APIKeySealed, TenantMigrationSealAD(tenant.ID))
		if err != nil {
			return nil, false, Internal(err) // another LATCH_SECRET, or a tampered row
		}
		m.APIKey = string(key)
	}
	m.APIKeySealed = nil
	up, err := a.Upstream.Authenticate(ctx, m, name, req.Password)
	switch {
	case errors.Is(err, ErrUpstreamRejected):
		a.log().InfoContext(ctx, "upstream refused a first login", "upstream", m.Dialect, "ip", req.Client.IP)
		return nil, false, nil
	case err != nil:
		a.log().WarnContext(ctx, "upstream unavailable for a first login", "upstream", m.Dialect, "err", err)
		return nil, false, &Error{Code: EUNAVAILABLE, RetryAfter: UpstreamRetryAfter, Err: err,
			Message: "the account could not be checked with its previous provider right now"}
	}
	hash, err := a.Passwords.Hash(ctx, req.Password)
	if e, ok := busy(err); ok {
		return nil, false, e
	} else if err != nil {
		return nil, false, Internal(err)
	}
	now := a.now()
	u := &User{ID: NewID(), TenantID: tenant.ID, Email: strings.TrimSpace(name), EmailVerified: up.EmailVerified, PasswordHash: hash,
		FirstName: up.FirstName, LastName: up.LastName, Status: StatusActive, Tags: up.Tags, Profile: up.Profile,
		MigratedFrom: m.Dialect, CreatedAt: now, UpdatedAt: now}
	if byUsername {
		u.Username, u.Email = u.Email, u.Email+placeholderDomain
		if up.Email != "" && ValidEmail(up.Email) {
			u.Email = up.Email
		}
	} else if EmailKey(up.Email) == EmailKey(name) {
		u.Email = strings.TrimSpace(up.Email) // the upstream's spelling
	}
	for _, n := range []*string{&u.FirstName, &u.LastName} {
		if utf8.RuneCountInString(*n) > maxText {
			*n = "" // what an admin could not write either; the login goes on
		}
	}
	if up.ID != "" {
		if u.Profile == nil {
			u.Profile = map[string]any{}
		}
		u.Profile["migrated_id"] = up.ID
	}
	if !ValidEmail(u.Email) || CheckText("", u) != nil {
		a.log().WarnContext(ctx, "upstream user not migrated: not a valid latch user", "upstream", m.Dialect)
		return nil, false, nil
	}
	ev := a.event(EventMigrated, tenant.ID, u.ID, "", now, req.Client.eventData("upstream", m.Dialect, "upstream_id", up.ID))
	if err := a.Migrations.CreateUser(ctx, u, ev); ErrorCode(err) == ECONFLICT {
		// A concurrent first login for the same name won: check the
		// password against the user it created, like any known user.
		fresh, ferr := a.lookup(ctx, tenant.ID, name, byUsername)
		return fresh, false, ferr
	} else if err != nil {
		return nil, false, err
	}
	a.eventsWritten()
	// Read back as stored, so that the session write's check of the
	// user compares like with like.
	fresh, err := a.lookup(ctx, tenant.ID, name, byUsername)
	return fresh, err == nil, err
}

// lookup finds a tenant's user by login name.
func (a *Auth) lookup(ctx context.Context, tenantID, name string, byUsername bool) (*User, error) {
	if byUsername {
		return a.Users.GetUserByUsername(ctx, tenantID, name)
	}
	return a.Users.GetUserByEmail(ctx, tenantID, name)
}

// MigrationStatus is how far a tenant's lazy migration has come.
type MigrationStatus struct {
	Tenant   *Tenant // settings as Shown
	Users    int
	Migrated int
}

// MigrationStatus counts the tenant's users and those lazy migration
// created. ENOTFOUND when there is no such tenant.
func (ad *Admin) MigrationStatus(ctx context.Context, tenantID string) (*MigrationStatus, error) {
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	total, migrated, err := ad.Users.CountUsers(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	t.Settings = t.Settings.Shown()
	return &MigrationStatus{Tenant: t, Users: total, Migrated: migrated}, nil
}
