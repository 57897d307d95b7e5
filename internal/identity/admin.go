package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/ratelimit"
)

// The admin API is latch's own contract, so its request bodies decode
// straight into these inputs. Pointer fields distinguish "absent" (keep)
// from "empty" (clear) in PATCH.

// TenantInput creates or patches a tenant.
type TenantInput struct {
	Name     *string         `json:"name"`
	Alias    *string         `json:"alias"`
	Settings *TenantSettings `json:"settings"`
}

// MetadataInput is one metadata item as an admin sends it.
type MetadataInput struct {
	Key             string   `json:"key"`
	Value           string   `json:"value"`
	ViewPermissions []string `json:"view_permissions"`
	Visible         *bool    `json:"visible"`
}

// UserInput creates or patches a user.
type UserInput struct {
	Email           *string          `json:"email"`
	EmailVerified   *bool            `json:"email_verified"`
	Password        *string          `json:"password"`
	PasswordHash    *string          `json:"password_hash"`
	FirstName       *string          `json:"first_name"`
	LastName        *string          `json:"last_name"`
	Role            *string          `json:"role"`
	Roles           *[]string        `json:"roles"`
	Status          *string          `json:"status"`
	Tags            *[]string        `json:"tags"`
	Metadata        *[]MetadataInput `json:"metadata"`
	Profile         *map[string]any  `json:"profile"`
	OrganisationIDs *[]string        `json:"organisation_ids"`
}

// OrganisationInput creates or patches an organisation.
type OrganisationInput struct {
	Name        *string         `json:"name"`
	Email       *string         `json:"email"`
	Description *string         `json:"description"`
	ParentID    *string         `json:"parent_id"`
	Tags        *[]string       `json:"tags"`
	Profile     *map[string]any `json:"profile"`
}

const maxText = 256

var aliasRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ValidEmail reports whether s is a single bare address (no display name)
// of at most 256 characters.
func ValidEmail(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > maxText {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func text(field string, v *string, required bool) error {
	switch {
	case v == nil && required, v != nil && required && strings.TrimSpace(*v) == "":
		return Invalid(field, "is required")
	case v != nil && utf8.RuneCountInString(*v) > maxText:
		return Invalid(field, "must be at most %d characters", maxText)
	case v != nil && !utf8.ValidString(*v):
		return Invalid(field, "must be valid UTF-8")
	}
	return nil
}

func list(field string, v *[]string) error {
	if v == nil {
		return nil
	}
	if len(*v) > 100 {
		return Invalid(field, "must have at most 100 entries")
	}
	for _, s := range *v {
		if s == "" || utf8.RuneCountInString(s) > maxText {
			return Invalid(field, "entries must be 1 to %d characters", maxText)
		}
	}
	return nil
}

// ParseOrigin checks that s is a browser origin, scheme://host[:port] with
// an http or https scheme and nothing after it, and returns it in lower
// case, as browsers send it in the Origin header. "*" and "null" are not
// origins: latch allows exact origins only.
func ParseOrigin(s string) (string, error) {
	o := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "/"))
	u, err := url.Parse(o)
	switch {
	case o == "*" || o == "null":
		return "", fmt.Errorf("%q is not allowed: name each origin, like https://app.example.com", s)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("%q is not an origin like https://app.example.com", s)
	case u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(o, "?#"):
		return "", fmt.Errorf("%q is not an origin: scheme, host and port only, like https://app.example.com", s)
	case u.Port() != "" && strings.Trim(u.Port(), "0123456789") != "":
		return "", fmt.Errorf("%q has an invalid port", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (in *TenantInput) apply(t *Tenant, create bool) error {
	if err := text("name", in.Name, create); err != nil {
		return err
	}
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.Alias != nil {
		a := strings.ToLower(strings.TrimSpace(*in.Alias))
		if a != "" && (len(a) > maxText || !aliasRE.MatchString(a)) {
			return Invalid("alias", "must be lower-case letters, digits, '.', '_' or '-', at most %d characters", maxText)
		}
		t.Alias = a
	}
	if in.Settings != nil {
		st := *in.Settings
		if st.SessionLifetimeSeconds < 0 || st.SessionIdleTimeoutSeconds < 0 || st.RefreshGraceSeconds < 0 || st.RefreshGraceSeconds > 300 {
			return Invalid("settings", "durations must be positive; refresh_grace_seconds at most 300")
		}
		for field, v := range map[string]string{"rate_limit_ip": st.RateLimitIP, "rate_limit_account": st.RateLimitAccount} {
			if _, err := ratelimit.Parse(v); v != "" && err != nil {
				return Invalid("settings."+field, "%v", err)
			}
		}
		if len(st.CORSOrigins) > 100 {
			return Invalid("settings.cors_origins", "must have at most 100 entries")
		}
		origins := make([]string, 0, len(st.CORSOrigins))
		for _, o := range st.CORSOrigins {
			n, err := ParseOrigin(o)
			if err != nil {
				return Invalid("settings.cors_origins", "%v", err)
			}
			if !slices.Contains(origins, n) {
				origins = append(origins, n)
			}
		}
		st.CORSOrigins = origins
		t.Settings = st
	}
	return nil
}

// CreateTenant validates in and stores a new tenant.
func (s *Service) CreateTenant(ctx context.Context, in TenantInput) (*Tenant, error) {
	now := s.now()
	t := &Tenant{ID: NewID(), CreatedAt: now, UpdatedAt: now}
	if err := in.apply(t, true); err != nil {
		return nil, err
	}
	if err := s.Tenants.CreateTenant(ctx, t); err != nil {
		return nil, aliasConflict(err)
	}
	return t, nil
}

// UpdateTenant applies the fields set in in.
func (s *Service) UpdateTenant(ctx context.Context, id string, in TenantInput) (*Tenant, error) {
	t, err := s.Tenants.GetTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(t, false); err != nil {
		return nil, err
	}
	t.UpdatedAt = s.now()
	if err := s.Tenants.UpdateTenant(ctx, t); err != nil {
		return nil, aliasConflict(err)
	}
	return t, nil
}

func aliasConflict(err error) error {
	if ErrorCode(err) == ECONFLICT {
		return &Error{Code: ECONFLICT, Field: "alias", Message: "another tenant has this alias", Err: err}
	}
	return err
}

func (s *Service) applyUser(u *User, in UserInput, create bool) error {
	if in.Email != nil {
		e := strings.TrimSpace(*in.Email)
		if !ValidEmail(e) {
			return Invalid("email", "must be an email address of at most %d characters", maxText)
		}
		u.Email = e
	} else if create {
		return Invalid("email", "is required")
	}
	if in.Password != nil && in.PasswordHash != nil {
		return Invalid("password", "give either password or password_hash, not both")
	}
	if in.Password != nil {
		if utf8.RuneCountInString(*in.Password) < 8 {
			return Invalid("password", "must be at least 8 characters")
		}
		h, err := s.Passwords.Hash(*in.Password)
		if e, ok := busy(err); ok {
			return e
		} else if err != nil {
			return Invalid("password", "must be at most 256 bytes")
		}
		u.PasswordHash = h
	}
	if in.PasswordHash != nil {
		if err := s.Passwords.Check(*in.PasswordHash); err != nil {
			return Invalid("password_hash", "%v", err)
		}
		u.PasswordHash = *in.PasswordHash
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *string
	}{{"first_name", in.FirstName, &u.FirstName}, {"last_name", in.LastName, &u.LastName}, {"role", in.Role, &u.Role}} {
		if err := text(f.name, f.in, false); err != nil {
			return err
		}
		if f.in != nil {
			*f.out = *f.in
		}
	}
	if in.Status != nil {
		if *in.Status != StatusActive && *in.Status != StatusDisabled {
			return Invalid("status", "must be %q or %q", StatusActive, StatusDisabled)
		}
		u.Status = *in.Status
	}
	if in.EmailVerified != nil {
		u.EmailVerified = *in.EmailVerified
	}
	for _, f := range []struct {
		name string
		in   *[]string
		out  *[]string
	}{{"roles", in.Roles, &u.Roles}, {"tags", in.Tags, &u.Tags}, {"organisation_ids", in.OrganisationIDs, &u.OrganisationIDs}} {
		if err := list(f.name, f.in); err != nil {
			return err
		}
		if f.in != nil {
			*f.out = slices.Compact(slices.Clone(*f.in))
		}
	}
	if in.Profile != nil {
		u.Profile = *in.Profile
	}
	if in.Metadata != nil {
		if len(*in.Metadata) > 100 {
			return Invalid("metadata", "must have at most 100 items")
		}
		old := map[string]MetadataItem{}
		for _, m := range u.Metadata {
			old[m.Key] = m
		}
		now := s.now()
		items := make([]MetadataItem, 0, len(*in.Metadata))
		for _, m := range *in.Metadata {
			if m.Key == "" || utf8.RuneCountInString(m.Key) > maxText || utf8.RuneCountInString(m.Value) > 4096 {
				return Invalid("metadata", "keys must be 1 to 256 characters and values at most 4096")
			}
			it := MetadataItem{ID: NewID(), Key: m.Key, Value: m.Value, ViewPermissions: m.ViewPermissions, Visible: true, CreatedAt: now, UpdatedAt: now}
			if prev, ok := old[m.Key]; ok {
				it.ID, it.CreatedAt = prev.ID, prev.CreatedAt
				if prev.Value == m.Value {
					it.UpdatedAt = prev.UpdatedAt
				}
			}
			if m.Visible != nil {
				it.Visible = *m.Visible
			}
			if it.ViewPermissions == nil {
				it.ViewPermissions = []string{}
			}
			items = append(items, it)
		}
		u.Metadata = items
	}
	return nil
}

// CreateUser validates in, hashes the password (or checks an imported
// hash) and stores a new user of the tenant.
func (s *Service) CreateUser(ctx context.Context, tenantID string, in UserInput) (*User, error) {
	if _, err := s.Tenants.GetTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	now := s.now()
	u := &User{ID: NewID(), TenantID: tenantID, Status: StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := s.applyUser(u, in, true); err != nil {
		return nil, err
	}
	if err := s.Users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return s.Users.GetUser(ctx, tenantID, u.ID)
}

// UpdateUser applies the fields set in in. Disabling a user revokes its
// sessions; a new password does too (in the store's same write), so a
// stolen refresh token dies with the old password.
func (s *Service) UpdateUser(ctx context.Context, tenantID, id string, in UserInput) (*User, error) {
	u, err := s.Users.GetUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := s.applyUser(u, in, false); err != nil {
		return nil, err
	}
	u.UpdatedAt = s.now()
	if err := s.Users.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	return s.Users.GetUser(ctx, tenantID, id)
}

func (in *OrganisationInput) apply(o *Organisation, create bool) error {
	if err := text("name", in.Name, create); err != nil {
		return err
	}
	if in.Email != nil && *in.Email != "" && !ValidEmail(*in.Email) {
		return Invalid("email", "must be an email address")
	}
	if err := text("description", in.Description, false); err != nil {
		return err
	}
	if err := list("tags", in.Tags); err != nil {
		return err
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&o.Name, in.Name)
	set(&o.Email, in.Email)
	set(&o.Description, in.Description)
	set(&o.ParentID, in.ParentID)
	if in.Tags != nil {
		o.Tags = *in.Tags
	}
	if in.Profile != nil {
		o.Profile = *in.Profile
	}
	return nil
}

// CreateOrganisation validates in and stores a new organisation.
func (s *Service) CreateOrganisation(ctx context.Context, tenantID string, in OrganisationInput) (*Organisation, error) {
	if _, err := s.Tenants.GetTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	now := s.now()
	o := &Organisation{ID: NewID(), TenantID: tenantID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(o, true); err != nil {
		return nil, err
	}
	return o, s.Organisations.CreateOrganisation(ctx, o)
}

// UpdateOrganisation applies the fields set in in.
func (s *Service) UpdateOrganisation(ctx context.Context, tenantID, id string, in OrganisationInput) (*Organisation, error) {
	o, err := s.Organisations.GetOrganisation(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(o, false); err != nil {
		return nil, err
	}
	o.UpdatedAt = s.now()
	return o, s.Organisations.UpdateOrganisation(ctx, o)
}

// APIKeyPrefix starts every API key, so secret scanners can find leaks.
const APIKeyPrefix = "lak1_"

// CreateAPIKey makes a new key for the tenant and returns it with the only
// copy of its secret.
func (s *Service) CreateAPIKey(ctx context.Context, tenantID, name string) (*APIKey, string, error) {
	if err := text("name", &name, true); err != nil {
		return nil, "", err
	}
	if _, err := s.Tenants.GetTenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	k := &APIKey{ID: NewID(), TenantID: tenantID, Name: name, Hash: HashAPIKey(secret), Prefix: secret[:len(APIKeyPrefix)+6], CreatedAt: s.now()}
	if err := s.APIKeys.CreateAPIKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// HashAPIKey is how API keys are stored: SHA-256 suffices for 256-bit
// random secrets, and keeps lookups to one index probe.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}
