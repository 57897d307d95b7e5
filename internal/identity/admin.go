package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/ratelimit"
)

// Admin runs the admin use cases: tenants, users, organisations, API keys
// and users' sessions, each write audited as admin.<resource>.<action>.
// Its fields are its dependencies; all must be set.
type Admin struct {
	Runtime
	Tenants       TenantStore
	Users         UserStore
	Organisations OrganisationStore
	Sessions      UserSessions
	AuditLog      EventLister
	APIKeys       APIKeyStore
	Passwords     PasswordHasher
	Sealer        Sealer // seals the lazy-migration upstream's API key
}

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

// UserInput creates or patches a user. Absent fields are left out when
// it is written (an export, UserRecord), as they are absent when read.
type UserInput struct {
	Email           *string          `json:"email,omitempty"`
	Username        *string          `json:"username,omitempty"`
	EmailVerified   *bool            `json:"email_verified,omitempty"`
	Password        *string          `json:"password,omitempty"`
	PasswordHash    *string          `json:"password_hash,omitempty"`
	FirstName       *string          `json:"first_name,omitempty"`
	LastName        *string          `json:"last_name,omitempty"`
	Role            *string          `json:"role,omitempty"`
	Roles           *[]string        `json:"roles,omitempty"`
	Status          *string          `json:"status,omitempty"`
	Tags            *[]string        `json:"tags,omitempty"`
	Metadata        *[]MetadataInput `json:"metadata,omitempty"`
	Profile         *map[string]any  `json:"profile,omitempty"`
	OrganisationIDs *[]string        `json:"organisation_ids,omitempty"`
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

// ValidUsername reports whether s may be a user name: 1 to 256
// characters, none of them '@' (so that a login name is an email or a
// user name, never both), a space or a control character.
func ValidUsername(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > maxText || !ValidText(s) {
		return false
	}
	for _, r := range s {
		if r == '@' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func text(field string, v *string, required bool) error {
	switch {
	case v == nil && required, v != nil && required && strings.TrimSpace(*v) == "":
		return Invalid(field, "is required")
	case v != nil && utf8.RuneCountInString(*v) > maxText:
		return Invalid(field, "must be at most %d characters", maxText)
	case v != nil && !ValidText(*v):
		return Invalid(field, "must be valid UTF-8 and must not contain NUL characters")
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
		if err := checkMailSettings(&st); err != nil {
			return err
		}
		t.Settings = st
	}
	return nil
}

// CreateTenant validates in and stores a new tenant.
func (ad *Admin) CreateTenant(ctx context.Context, in TenantInput) (*Tenant, error) {
	if err := CheckText("", in); err != nil {
		return nil, err
	}
	now := ad.now()
	t := &Tenant{ID: NewID(), CreatedAt: now, UpdatedAt: now}
	if err := in.apply(t, true); err != nil {
		return nil, err
	}
	if err := checkMigration(t.Settings.Migration, nil, t.ID, ad.Sealer); err != nil {
		return nil, err
	}
	if err := ad.Tenants.CreateTenant(ctx, t); err != nil {
		return nil, aliasConflict(err)
	}
	ad.audit(ctx, t.ID, "", "tenant", "created", t.ID, tenantChanges(&Tenant{}, t))
	return t, nil
}

// UpdateTenant applies the fields set in in.
func (ad *Admin) UpdateTenant(ctx context.Context, id string, in TenantInput) (*Tenant, error) {
	if err := CheckText("", in); err != nil {
		return nil, err
	}
	t, err := ad.GetTenant(ctx, id)
	if err != nil {
		return nil, err
	}
	old := *t
	if err := in.apply(t, false); err != nil {
		return nil, err
	}
	if err := checkMigration(t.Settings.Migration, old.Settings.Migration, t.ID, ad.Sealer); err != nil {
		return nil, err
	}
	t.UpdatedAt = ad.now()
	if err := ad.Tenants.UpdateTenant(ctx, t); err != nil {
		return nil, aliasConflict(err)
	}
	ad.audit(ctx, t.ID, "", "tenant", "updated", t.ID, tenantChanges(&old, t))
	return t, nil
}

// DeleteTenant removes the tenant and everything it owns, its audit log
// included; the deletion itself is logged (there is no tenant left to
// record it in).
func (ad *Admin) DeleteTenant(ctx context.Context, id string) error {
	id, err := wellFormed("tenant", id)
	if err != nil {
		return err
	}
	if err := ad.Tenants.DeleteTenant(ctx, id); err != nil {
		return err
	}
	ad.log().WarnContext(ctx, "admin write", "event", AdminEventPrefix+"tenant.deleted", "tenant_id", id)
	return nil
}

// GetTenant returns the tenant with id; ENOTFOUND when there is none,
// or when id is not an id at all.
func (ad *Admin) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	return getTenant(ctx, ad.Tenants, id)
}

// ListTenants returns a page of tenants.
func (ad *Admin) ListTenants(ctx context.Context, p Page) ([]*Tenant, string, error) {
	return ad.Tenants.ListTenants(ctx, p)
}

func aliasConflict(err error) error {
	if ErrorCode(err) == ECONFLICT {
		return &Error{Code: ECONFLICT, Field: "alias", Message: "another tenant has this alias", Err: err}
	}
	return err
}

func (ad *Admin) applyUser(ctx context.Context, u *User, in UserInput, create bool) error {
	if in.Email != nil {
		e := strings.TrimSpace(*in.Email)
		if !ValidEmail(e) {
			return Invalid("email", "must be an email address of at most %d characters", maxText)
		}
		u.Email = e
	} else if create {
		return Invalid("email", "is required")
	}
	if in.Username != nil {
		n := strings.TrimSpace(*in.Username)
		if n != "" && !ValidUsername(n) {
			return Invalid("username", "must be at most %d characters, without '@', spaces or control characters", maxText)
		}
		u.Username = n
	}
	if in.Password != nil && in.PasswordHash != nil {
		return Invalid("password", "give either password or password_hash, not both")
	}
	if in.Password != nil {
		h, err := newPasswordHash(ctx, ad.Passwords, *in.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	if in.PasswordHash != nil {
		if err := ad.Passwords.Check(*in.PasswordHash); err != nil {
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
		now := ad.now()
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

// newPasswordHash checks a password an admin or a user sets (the same
// rules for both) and hashes it.
func newPasswordHash(ctx context.Context, passwords PasswordHasher, pw string) (string, error) {
	if err := checkNewPassword(pw); err != nil {
		return "", err
	}
	h, err := passwords.Hash(ctx, pw)
	if e, ok := busy(err); ok {
		return "", e
	} else if err != nil {
		return "", Invalid("password", "must be at most 256 bytes")
	}
	return h, nil
}

// checkNewPassword is what a new password is checked for before it is
// hashed (the hasher still refuses one over 256 bytes once normalised).
func checkNewPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < 8:
		return Invalid("password", "must be at least 8 characters")
	case len(pw) > 4*256:
		return Invalid("password", "must be at most 256 bytes")
	}
	return nil
}

// newUser is a new user of the tenant made from in, validated (and its
// password hashed), not stored: what CreateUser and an import store.
func (ad *Admin) newUser(ctx context.Context, tenantID string, in UserInput) (*User, error) {
	if err := CheckText("", in); err != nil {
		return nil, err
	}
	now := ad.now()
	u := &User{ID: NewID(), TenantID: tenantID, Status: StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := ad.applyUser(ctx, u, in, true); err != nil {
		return nil, err
	}
	return u, nil
}

// CreateUser validates in, hashes the password (or checks an imported
// hash) and stores a new user of the tenant.
func (ad *Admin) CreateUser(ctx context.Context, tenantID string, in UserInput) (*User, error) {
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	u, err := ad.newUser(ctx, t.ID, in)
	if err != nil {
		return nil, err
	}
	events := []Event{
		ad.auditEvent(ctx, u.TenantID, u.ID, "user", "created", u.ID, userChanges(&User{Status: StatusActive}, u)),
		ad.lifecycleEvent(ctx, EventUserCreated, u),
	}
	if err := ad.Users.CreateUser(ctx, u, events...); err != nil {
		return nil, err
	}
	ad.written(ctx, events...)
	return ad.Users.GetUser(ctx, u.TenantID, u.ID)
}

// UpdateUser applies the fields set in in. Disabling a user revokes its
// sessions; a new password does too (in the store's same write), so a
// stolen refresh token dies with the old password.
func (ad *Admin) UpdateUser(ctx context.Context, tenantID, id string, in UserInput) (*User, error) {
	if err := CheckText("", in); err != nil {
		return nil, err
	}
	u, err := ad.GetUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	old := *u
	if err := ad.applyUser(ctx, u, in, false); err != nil {
		return nil, err
	}
	u.UpdatedAt = ad.now()
	fields := userChanges(&old, u)
	events := []Event{ad.auditEvent(ctx, u.TenantID, u.ID, "user", "updated", u.ID, fields)}
	if len(fields) > 0 {
		events = append(events, ad.lifecycleEvent(ctx, EventUserUpdated, u, "fields", fields))
	}
	if slices.Contains(fields, "password") {
		events = append(events, ad.lifecycleEvent(ctx, EventPasswordChanged, u))
	}
	if err := ad.Users.UpdateUser(ctx, u, events...); err != nil {
		return nil, err
	}
	ad.written(ctx, events...)
	return ad.Users.GetUser(ctx, u.TenantID, u.ID)
}

// DeleteUser removes the user and its sessions; its events stay (audit).
func (ad *Admin) DeleteUser(ctx context.Context, tenantID, id string) error {
	u, err := ad.GetUser(ctx, tenantID, id)
	if err != nil {
		return err
	}
	events := []Event{
		ad.auditEvent(ctx, u.TenantID, u.ID, "user", "deleted", u.ID, nil),
		ad.lifecycleEvent(ctx, EventUserDeleted, u),
	}
	if err := ad.Users.DeleteUser(ctx, u.TenantID, u.ID, events...); err != nil {
		return err
	}
	ad.written(ctx, events...)
	return nil
}

// GetUser returns a user of the tenant; ENOTFOUND when there is none, or
// when either id is not an id at all.
func (ad *Admin) GetUser(ctx context.Context, tenantID, id string) (*User, error) {
	return getUser(ctx, ad.Users, tenantID, id)
}

// ListUsers returns a page of the tenant's users, ENOTFOUND when the
// tenant does not exist.
func (ad *Admin) ListUsers(ctx context.Context, tenantID string, f UserFilter, p Page) ([]*User, string, error) {
	if err := errors.Join(CheckText("email", f.Email), CheckText("username", f.Username), CheckText("email_prefix", f.EmailPrefix)); err != nil {
		return nil, "", AsError(err)
	}
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	return ad.Users.ListUsers(ctx, t.ID, f, p)
}

// ListUserSessions returns a page of the user's sessions, newest first.
func (ad *Admin) ListUserSessions(ctx context.Context, tenantID, userID string, p Page) ([]*Session, string, error) {
	u, err := ad.GetUser(ctx, tenantID, userID)
	if err != nil {
		return nil, "", err
	}
	return ad.Sessions.ListUserSessions(ctx, u.TenantID, u.ID, p)
}

// RevokeUserSessions ends every live session of the user (re-
// authentication grants included) and returns how many it ended.
func (ad *Admin) RevokeUserSessions(ctx context.Context, tenantID, userID string) (int, error) {
	u, err := ad.GetUser(ctx, tenantID, userID)
	if err != nil {
		return 0, err
	}
	var events []Event
	n, err := ad.Sessions.RevokeUserSessions(ctx, u.TenantID, u.ID, ad.now(), "revoked by admin", func(n int) []Event {
		events = []Event{ad.auditEvent(ctx, u.TenantID, u.ID, "sessions", "revoked", u.ID, nil, "revoked", n)}
		if n > 0 {
			// The store revokes them all in one statement and names
			// none, so one event (with no session id) stands for all.
			events = append(events, ad.lifecycleEvent(ctx, EventSessionRevoked, u, "scope", "all", "revoked", n))
		}
		return events
	})
	if err != nil {
		return 0, err
	}
	ad.written(ctx, events...)
	return n, nil
}

// RevokeSession ends one session of the user (a re-authentication grant
// included), audited as admin.session.revoked. ENOTFOUND when the session
// is not the user's; revoking a revoked session changes nothing.
func (ad *Admin) RevokeSession(ctx context.Context, tenantID, userID, sessionID string) error {
	u, err := ad.GetUser(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	sid, err := wellFormed("session", sessionID)
	if err != nil {
		return err
	}
	revoked, err := revokeOwnSession(ctx, &ad.Runtime, ad.Sessions, u, sid, "revoked by admin")
	if revoked {
		ad.audit(ctx, u.TenantID, u.ID, "session", "revoked", sid, nil)
	}
	return err
}

// revokeOwnSession ends the session sid of user u, recording
// session.revoked in the revocation's own transaction, and reports
// whether it ended it. A session of anybody else is ENOTFOUND, as an
// unknown one is, so that nobody learns another user's session ids;
// a revoked session is left as it is.
func revokeOwnSession(ctx context.Context, rt *Runtime, sessions SessionRevoker, u *User, sid, reason string) (bool, error) {
	sess, err := sessions.GetSession(ctx, sid)
	if ErrorCode(err) == ENOTFOUND || (err == nil && (sess.TenantID != u.TenantID || sess.UserID != u.ID)) {
		return false, &Error{Code: ENOTFOUND, Message: "session not found"}
	} else if err != nil {
		return false, err
	}
	if sess.Revoked() {
		return false, nil
	}
	now := rt.now()
	ev := rt.event(EventSessionRevoked, u.TenantID, u.ID, sess.ID, now, rt.lifecycleData(ctx, u, "reason", reason))
	if err := sessions.RevokeSession(ctx, sess.ID, now, reason, []Event{ev}); err != nil {
		return false, err
	}
	rt.wake()
	return true, nil
}

// ListEvents returns a page of the tenant's events (the audit log),
// newest first.
func (ad *Admin) ListEvents(ctx context.Context, tenantID string, f EventFilter, p Page) ([]*Event, string, error) {
	if err := errors.Join(CheckText("type", f.Type), CheckText("user_id", f.UserID)); err != nil {
		return nil, "", AsError(err)
	}
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	return ad.AuditLog.ListEvents(ctx, t.ID, f, p)
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
func (ad *Admin) CreateOrganisation(ctx context.Context, tenantID string, in OrganisationInput) (*Organisation, error) {
	if err := CheckText("", in); err != nil {
		return nil, err
	}
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := ad.now()
	o := &Organisation{ID: NewID(), TenantID: t.ID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(o, true); err != nil {
		return nil, err
	}
	if err := ad.Organisations.CreateOrganisation(ctx, o); err != nil {
		return nil, err
	}
	ad.audit(ctx, o.TenantID, "", "organisation", "created", o.ID, organisationChanges(&Organisation{}, o))
	return o, nil
}

// UpdateOrganisation applies the fields set in in.
func (ad *Admin) UpdateOrganisation(ctx context.Context, tenantID, id string, in OrganisationInput) (*Organisation, error) {
	if err := CheckText("", in); err != nil {
		return nil, err
	}
	o, err := ad.GetOrganisation(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	old := *o
	if err := in.apply(o, false); err != nil {
		return nil, err
	}
	o.UpdatedAt = ad.now()
	if err := ad.Organisations.UpdateOrganisation(ctx, o); err != nil {
		return nil, err
	}
	ad.audit(ctx, o.TenantID, "", "organisation", "updated", o.ID, organisationChanges(&old, o))
	return o, nil
}

// DeleteOrganisation removes the organisation; its children lose their
// parent and its members their membership.
func (ad *Admin) DeleteOrganisation(ctx context.Context, tenantID, id string) error {
	o, err := ad.GetOrganisation(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if err := ad.Organisations.DeleteOrganisation(ctx, o.TenantID, o.ID); err != nil {
		return err
	}
	ad.audit(ctx, o.TenantID, "", "organisation", "deleted", o.ID, nil)
	return nil
}

// GetOrganisation returns an organisation of the tenant, or ENOTFOUND.
func (ad *Admin) GetOrganisation(ctx context.Context, tenantID, id string) (*Organisation, error) {
	tenantID, id, err := wellFormedIn("organisation", tenantID, id)
	if err != nil {
		return nil, err
	}
	return ad.Organisations.GetOrganisation(ctx, tenantID, id)
}

// ListOrganisations returns a page of the tenant's organisations.
func (ad *Admin) ListOrganisations(ctx context.Context, tenantID string, p Page) ([]*Organisation, string, error) {
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	return ad.Organisations.ListOrganisations(ctx, t.ID, p)
}

// APIKeyPrefix starts every API key, so secret scanners can find leaks.
const APIKeyPrefix = "lak1_"

// CreateAPIKey makes a new key for the tenant and returns it with the only
// copy of its secret.
func (ad *Admin) CreateAPIKey(ctx context.Context, tenantID, name string) (*APIKey, string, error) {
	if err := text("name", &name, true); err != nil {
		return nil, "", err
	}
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	k := &APIKey{ID: NewID(), TenantID: t.ID, Name: name, Hash: HashAPIKey(secret), Prefix: secret[:len(APIKeyPrefix)+6], CreatedAt: ad.now()}
	if err := ad.APIKeys.CreateAPIKey(ctx, k); err != nil {
		return nil, "", err
	}
	ad.audit(ctx, k.TenantID, "", "api_key", "created", k.ID, []string{"name"})
	return k, secret, nil
}

// ListAPIKeys returns the tenant's keys, revoked ones included.
func (ad *Admin) ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error) {
	t, err := ad.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return ad.APIKeys.ListAPIKeys(ctx, t.ID)
}

// RevokeAPIKey stops a key from working, at once and for good.
func (ad *Admin) RevokeAPIKey(ctx context.Context, tenantID, id string) error {
	tenantID, id, err := wellFormedIn("API key", tenantID, id)
	if err != nil {
		return err
	}
	if err := ad.APIKeys.RevokeAPIKey(ctx, tenantID, id, ad.now()); err != nil {
		return err
	}
	ad.audit(ctx, tenantID, "", "api_key", "revoked", id, nil)
	return nil
}

// HashAPIKey is how API keys are stored: SHA-256 suffices for 256-bit
// random secrets, and keeps lookups to one index probe.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}
