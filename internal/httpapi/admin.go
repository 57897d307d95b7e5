package httpapi

import (
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// pathIDs are the admin routes' path parameters that name records.
var pathIDs = []string{"tid", "uid", "oid", "kid", "wid", "sid"}

// adminHandler adapts a function returning (status, body, error) so each
// admin handler holds only its own logic; errors are written in one place.
// A path id that cannot be an id (not a UUID: "..", "%00", "%ff") names
// nothing, so it is a 404 before the handler runs.
func adminHandler(d Deps, fn func(r *http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, name := range pathIDs {
			if v := r.PathValue(name); v != "" && !identity.WellFormedID(v) {
				writeAdminError(w, r, d.Logger, &identity.Error{Code: identity.ENOTFOUND, Message: "no such " + pathIDNames[name]})
				return
			}
		}
		status, body, err := fn(r)
		switch {
		case err != nil:
			writeAdminError(w, r, d.Logger, err)
		case body == nil:
			w.WriteHeader(status)
		default:
			encode(w, status, body)
		}
	})
}

// Wire shapes of the admin API (snake_case; docs/wire-contract.md, admin API).

type tenantJSON struct {
	ID        string                  `json:"id"`
	Name      string                  `json:"name"`
	Alias     string                  `json:"alias"`
	CreatedAt time.Time               `json:"created_at"`
	UpdatedAt time.Time               `json:"updated_at"`
	Settings  identity.TenantSettings `json:"settings"`
}

func tenantOut(t *identity.Tenant) tenantJSON {
	return tenantJSON{t.ID, t.Name, t.Alias, t.CreatedAt, t.UpdatedAt, t.Settings.Shown()}
}

var pathIDNames = map[string]string{"tid": "tenant", "uid": "user", "oid": "organisation", "kid": "API key", "wid": "webhook", "sid": "session"}

type userJSON struct {
	ID               string                  `json:"id"`
	TenantID         string                  `json:"tenant_id"`
	Email            string                  `json:"email"`
	Username         string                  `json:"username"`
	EmailVerified    bool                    `json:"email_verified"`
	HasPassword      bool                    `json:"has_password"`
	FirstName        string                  `json:"first_name"`
	LastName         string                  `json:"last_name"`
	Role             string                  `json:"role"`
	Roles            []string                `json:"roles"`
	Status           string                  `json:"status"`
	TwoFactorEnabled bool                    `json:"two_factor_enabled"`
	Tags             []string                `json:"tags"`
	Metadata         []identity.MetadataItem `json:"metadata"`
	Profile          map[string]any          `json:"profile"`
	OrganisationIDs  []string                `json:"organisation_ids"`
	CreatedAt        time.Time               `json:"created_at"`
	UpdatedAt        time.Time               `json:"updated_at"`
	LastLoginAt      *time.Time              `json:"last_login_at"`
	LastSeenAt       *time.Time              `json:"last_seen_at"`
	MigratedFrom     string                  `json:"migrated_from"` // the upstream a first login created the user from; "" for others
}

func orNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func obj(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func userOut(u *identity.User) userJSON {
	md := u.Metadata
	if md == nil {
		md = []identity.MetadataItem{}
	}
	return userJSON{
		ID: u.ID, TenantID: u.TenantID, Email: u.Email, Username: u.Username, EmailVerified: u.EmailVerified, HasPassword: u.PasswordHash != "",
		FirstName: u.FirstName, LastName: u.LastName, Role: u.Role, Roles: strs(u.Roles), Status: u.Status,
		TwoFactorEnabled: u.TwoFactorEnabled, Tags: strs(u.Tags), Metadata: md, Profile: obj(u.Profile),
		OrganisationIDs: strs(u.OrganisationIDs), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		LastLoginAt: orNil(u.LastLoginAt), LastSeenAt: orNil(u.LastSeenAt), MigratedFrom: u.MigratedFrom,
	}
}

type orgJSON struct {
	ID          string         `json:"id"`
	TenantID    string         `json:"tenant_id"`
	Name        string         `json:"name"`
	Email       string         `json:"email"`
	Description string         `json:"description"`
	ParentID    string         `json:"parent_id"`
	Tags        []string       `json:"tags"`
	Profile     map[string]any `json:"profile"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

func orgOut(o *identity.Organisation) orgJSON {
	return orgJSON{o.ID, o.TenantID, o.Name, o.Email, o.Description, o.ParentID, strs(o.Tags), obj(o.Profile), o.CreatedAt, o.UpdatedAt}
}

type sessionJSON struct {
	ID           string     `json:"id"`
	UserID       string     `json:"user_id"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	LastSeenAt   time.Time  `json:"last_seen_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	RevokeReason string     `json:"revoke_reason"`
	UserAgent    string     `json:"user_agent"`
	Origin       string     `json:"origin"`
	IP           string     `json:"ip"`
	Dialect      string     `json:"dialect"`
	AMR          []string   `json:"amr"`
	DeviceName   string     `json:"device_name"`
	Rotations    int64      `json:"rotations"`
}

func sessionOut(s *identity.Session) sessionJSON {
	return sessionJSON{s.ID, s.UserID, s.CreatedAt, s.ExpiresAt, s.LastSeenAt, orNil(s.RevokedAt), s.RevokeReason,
		s.UserAgent, s.Origin, s.IP, s.Dialect, strs(s.AMR), s.DeviceName, s.Generation}
}

type eventJSON struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	UserID    string         `json:"user_id"`
	SessionID string         `json:"session_id"`
	CreatedAt time.Time      `json:"created_at"`
	Data      map[string]any `json:"data"`
}

type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Key        string     `json:"key,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func apiKeyOut(k *identity.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: orNil(k.LastUsedAt), RevokedAt: orNil(k.RevokedAt)}
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// tenant loads the {tid} of the path, so nested routes 404 on an unknown tenant.
func tenant(d Deps, r *http.Request) (*identity.Tenant, error) {
	return d.Service.Admin.GetTenant(r.Context(), r.PathValue("tid"))
}

// The admin handlers come in four shapes; these makers hold each shape
// once, and the handlers below say only what differs.

// written decodes an In body, applies it with do and answers out(result).
func written[In, T, U any](d Deps, status int, do func(r *http.Request, in In) (T, error), out func(T) U) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[In](r)
		if err != nil {
			return 0, nil, err
		}
		v, err := do(r, in)
		if err != nil {
			return 0, nil, err
		}
		return status, out(v), nil
	})
}

// fetched answers out(get(r)).
func fetched[T, U any](d Deps, get func(r *http.Request) (T, error), out func(T) U) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		v, err := get(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, out(v), nil
	})
}

// removed answers 204 when del succeeds.
func removed(d Deps, del func(r *http.Request) error) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, del(r)
	})
}

// paged answers one page of a list under key, with next_cursor. A list
// nested under a tenant 404s when the tenant does not exist.
func paged[T, U any](d Deps, key string, nested bool, list func(r *http.Request, p identity.Page) ([]T, string, error), out func(T) U) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		if nested {
			if _, err := tenant(d, r); err != nil {
				return 0, nil, err
			}
		}
		items, next, err := list(r, p)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{key: mapSlice(items, out), "next_cursor": next}, nil
	})
}

func tid(r *http.Request) string { return r.PathValue("tid") }

// Tenants.

func handleCreateTenant(d Deps) http.Handler {
	return written(d, http.StatusCreated, func(r *http.Request, in identity.TenantInput) (*identity.Tenant, error) {
		return d.Service.Admin.CreateTenant(r.Context(), in)
	}, tenantOut)
}

func handleListTenants(d Deps) http.Handler {
	return paged(d, "tenants", false, func(r *http.Request, p identity.Page) ([]*identity.Tenant, string, error) {
		return d.Service.Admin.ListTenants(r.Context(), p)
	}, tenantOut)
}

func handleGetTenant(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (*identity.Tenant, error) { return tenant(d, r) }, tenantOut)
}

func handleUpdateTenant(d Deps) http.Handler {
	return written(d, http.StatusOK, func(r *http.Request, in identity.TenantInput) (*identity.Tenant, error) {
		return d.Service.Admin.UpdateTenant(r.Context(), tid(r), in)
	}, tenantOut)
}

func handleDeleteTenant(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error { return d.Service.Admin.DeleteTenant(r.Context(), tid(r)) })
}

// API keys.

type apiKeyInput struct {
	Name string `json:"name"`
}

func handleCreateAPIKey(d Deps) http.Handler {
	return written(d, http.StatusCreated, func(r *http.Request, in apiKeyInput) (apiKeyJSON, error) {
		k, secret, err := d.Service.Admin.CreateAPIKey(r.Context(), tid(r), in.Name)
		if err != nil {
			return apiKeyJSON{}, err
		}
		out := apiKeyOut(k)
		out.Key = secret
		return out, nil
	}, func(k apiKeyJSON) apiKeyJSON { return k })
}

func handleListAPIKeys(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) ([]*identity.APIKey, error) {
		return d.Service.Admin.ListAPIKeys(r.Context(), tid(r))
	}, func(ks []*identity.APIKey) map[string]any { return map[string]any{"api_keys": mapSlice(ks, apiKeyOut)} })
}

func handleRevokeAPIKey(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error {
		return d.Service.Admin.RevokeAPIKey(r.Context(), tid(r), r.PathValue("kid"))
	})
}

// Users.

func handleCreateUser(d Deps) http.Handler {
	return written(d, http.StatusCreated, func(r *http.Request, in identity.UserInput) (*identity.User, error) {
		return d.Service.Admin.CreateUser(r.Context(), tid(r), in)
	}, userOut)
}

func handleListUsers(d Deps) http.Handler {
	return paged(d, "users", false, func(r *http.Request, p identity.Page) ([]*identity.User, string, error) {
		q := r.URL.Query()
		return d.Service.Admin.ListUsers(r.Context(), tid(r), identity.UserFilter{Email: q.Get("email"), Username: q.Get("username")}, p)
	}, userOut)
}

func getUser(d Deps, r *http.Request) (*identity.User, error) {
	return d.Service.Admin.GetUser(r.Context(), tid(r), r.PathValue("uid"))
}

func handleGetUser(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (*identity.User, error) { return getUser(d, r) }, userOut)
}

func handleUpdateUser(d Deps) http.Handler {
	return written(d, http.StatusOK, func(r *http.Request, in identity.UserInput) (*identity.User, error) {
		return d.Service.Admin.UpdateUser(r.Context(), tid(r), r.PathValue("uid"), in)
	}, userOut)
}

func handleDeleteUser(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error {
		return d.Service.Admin.DeleteUser(r.Context(), tid(r), r.PathValue("uid"))
	})
}

func handleListSessions(d Deps) http.Handler {
	return paged(d, "sessions", false, func(r *http.Request, p identity.Page) ([]*identity.Session, string, error) {
		return d.Service.Admin.ListUserSessions(r.Context(), tid(r), r.PathValue("uid"), p)
	}, sessionOut)
}

func handleRevokeSession(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error {
		return d.Service.Admin.RevokeSession(r.Context(), tid(r), r.PathValue("uid"), r.PathValue("sid"))
	})
}

func handleRevokeSessions(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (int, error) {
		return d.Service.Admin.RevokeUserSessions(r.Context(), tid(r), r.PathValue("uid"))
	}, func(n int) map[string]int { return map[string]int{"revoked": n} })
}

func handleLiftThrottle(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error {
		return d.Service.Auth.LiftThrottle(r.Context(), tid(r), r.PathValue("uid"))
	})
}

// Organisations.

func handleCreateOrganisation(d Deps) http.Handler {
	return written(d, http.StatusCreated, func(r *http.Request, in identity.OrganisationInput) (*identity.Organisation, error) {
		return d.Service.Admin.CreateOrganisation(r.Context(), tid(r), in)
	}, orgOut)
}

func handleListOrganisations(d Deps) http.Handler {
	return paged(d, "organisations", false, func(r *http.Request, p identity.Page) ([]*identity.Organisation, string, error) {
		return d.Service.Admin.ListOrganisations(r.Context(), tid(r), p)
	}, orgOut)
}

func handleGetOrganisation(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (*identity.Organisation, error) {
		return d.Service.Admin.GetOrganisation(r.Context(), tid(r), r.PathValue("oid"))
	}, orgOut)
}

func handleUpdateOrganisation(d Deps) http.Handler {
	return written(d, http.StatusOK, func(r *http.Request, in identity.OrganisationInput) (*identity.Organisation, error) {
		return d.Service.Admin.UpdateOrganisation(r.Context(), tid(r), r.PathValue("oid"), in)
	}, orgOut)
}

func handleDeleteOrganisation(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error {
		return d.Service.Admin.DeleteOrganisation(r.Context(), tid(r), r.PathValue("oid"))
	})
}

// Events.

func handleListEvents(d Deps) http.Handler {
	return paged(d, "events", false, func(r *http.Request, p identity.Page) ([]*identity.Event, string, error) {
		q := r.URL.Query()
		return d.Service.Admin.ListEvents(r.Context(), tid(r), identity.EventFilter{Type: q.Get("type"), UserID: q.Get("user_id")}, p)
	}, func(e *identity.Event) eventJSON {
		return eventJSON{e.ID, e.Type, e.UserID, e.SessionID, e.CreatedAt, obj(e.Data)}
	})
}

// Two-factor (TOTP).

type totpEnrolmentJSON struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRPNG      string `json:"qr_png"`
}

type totpStatusJSON struct {
	Status            string     `json:"status"` // pending or enabled
	CreatedAt         time.Time  `json:"created_at"`
	ConfirmedAt       *time.Time `json:"confirmed_at"`
	RecoveryCodesLeft int        `json:"recovery_codes_left"`
}

type totpConfirmInput struct {
	Code string `json:"code"`
}

func recoveryCodesOut(codes []string) map[string][]string {
	return map[string][]string{"recovery_codes": codes}
}

func handleGetTOTP(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (*identity.TOTPCredential, error) {
		return d.Service.SecondFactor.TOTPStatus(r.Context(), tid(r), r.PathValue("uid"))
	}, func(c *identity.TOTPCredential) totpStatusJSON {
		status := "pending"
		if c.Confirmed() {
			status = "enabled"
		}
		return totpStatusJSON{status, c.CreatedAt, orNil(c.ConfirmedAt), c.RecoveryLeft}
	})
}

func handleBeginTOTP(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) (*identity.TOTPEnrolment, error) {
		return d.Service.SecondFactor.BeginTOTP(r.Context(), tid(r), r.PathValue("uid"))
	}, func(e *identity.TOTPEnrolment) totpEnrolmentJSON {
		return totpEnrolmentJSON{e.Secret, e.OTPAuthURL, e.QRPNG}
	})
}

func handleConfirmTOTP(d Deps) http.Handler {
	return written(d, http.StatusOK, func(r *http.Request, in totpConfirmInput) ([]string, error) {
		return d.Service.SecondFactor.ConfirmTOTP(r.Context(), tid(r), r.PathValue("uid"), in.Code)
	}, recoveryCodesOut)
}

func handleRegenerateRecoveryCodes(d Deps) http.Handler {
	return fetched(d, func(r *http.Request) ([]string, error) {
		return d.Service.SecondFactor.RegenerateRecoveryCodes(r.Context(), tid(r), r.PathValue("uid"))
	}, recoveryCodesOut)
}

func handleDisableTOTP(d Deps) http.Handler {
	return removed(d, func(r *http.Request) error {
		return d.Service.SecondFactor.DisableTOTP(r.Context(), tid(r), r.PathValue("uid"))
	})
}
