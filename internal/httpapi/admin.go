package httpapi

import (
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// adminHandler adapts a function returning (status, body, error) so each
// admin handler holds only its own logic; errors are written in one place.
func adminHandler(d Deps, fn func(r *http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

// Wire shapes of the admin API (snake_case, DESIGN §8).

type tenantJSON struct {
	ID        string                  `json:"id"`
	Name      string                  `json:"name"`
	Alias     string                  `json:"alias"`
	CreatedAt time.Time               `json:"created_at"`
	UpdatedAt time.Time               `json:"updated_at"`
	Settings  identity.TenantSettings `json:"settings"`
}

func tenantOut(t *identity.Tenant) tenantJSON {
	return tenantJSON{t.ID, t.Name, t.Alias, t.CreatedAt, t.UpdatedAt, t.Settings}
}

type userJSON struct {
	ID               string                  `json:"id"`
	TenantID         string                  `json:"tenant_id"`
	Email            string                  `json:"email"`
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
		ID: u.ID, TenantID: u.TenantID, Email: u.Email, EmailVerified: u.EmailVerified, HasPassword: u.PasswordHash != "",
		FirstName: u.FirstName, LastName: u.LastName, Role: u.Role, Roles: strs(u.Roles), Status: u.Status,
		TwoFactorEnabled: u.TwoFactorEnabled, Tags: strs(u.Tags), Metadata: md, Profile: obj(u.Profile),
		OrganisationIDs: strs(u.OrganisationIDs), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		LastLoginAt: orNil(u.LastLoginAt), LastSeenAt: orNil(u.LastSeenAt),
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
	return d.Store.GetTenant(r.Context(), r.PathValue("tid"))
}

// Tenants.

func handleCreateTenant(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[identity.TenantInput](r)
		if err != nil {
			return 0, nil, err
		}
		t, err := d.Service.CreateTenant(r.Context(), in)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, tenantOut(t), nil
	})
}

func handleListTenants(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		ts, next, err := d.Store.ListTenants(r.Context(), p)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"tenants": mapSlice(ts, tenantOut), "next_cursor": next}, nil
	})
}

func handleGetTenant(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		t, err := tenant(d, r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, tenantOut(t), nil
	})
}

func handleUpdateTenant(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[identity.TenantInput](r)
		if err != nil {
			return 0, nil, err
		}
		t, err := d.Service.UpdateTenant(r.Context(), r.PathValue("tid"), in)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, tenantOut(t), nil
	})
}

func handleDeleteTenant(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, d.Store.DeleteTenant(r.Context(), r.PathValue("tid"))
	})
}

// API keys.

func handleCreateAPIKey(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[struct {
			Name string `json:"name"`
		}](r)
		if err != nil {
			return 0, nil, err
		}
		k, secret, err := d.Service.CreateAPIKey(r.Context(), r.PathValue("tid"), in.Name)
		if err != nil {
			return 0, nil, err
		}
		out := apiKeyOut(k)
		out.Key = secret
		return http.StatusCreated, out, nil
	})
}

func handleListAPIKeys(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		if _, err := tenant(d, r); err != nil {
			return 0, nil, err
		}
		ks, err := d.Store.ListAPIKeys(r.Context(), r.PathValue("tid"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"api_keys": mapSlice(ks, apiKeyOut)}, nil
	})
}

func handleRevokeAPIKey(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, d.Store.RevokeAPIKey(r.Context(), r.PathValue("tid"), r.PathValue("kid"), time.Now())
	})
}

// Users.

func handleCreateUser(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[identity.UserInput](r)
		if err != nil {
			return 0, nil, err
		}
		u, err := d.Service.CreateUser(r.Context(), r.PathValue("tid"), in)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, userOut(u), nil
	})
}

func handleListUsers(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		if _, err := tenant(d, r); err != nil {
			return 0, nil, err
		}
		us, next, err := d.Store.ListUsers(r.Context(), r.PathValue("tid"), identity.UserFilter{Email: r.URL.Query().Get("email")}, p)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"users": mapSlice(us, userOut), "next_cursor": next}, nil
	})
}

func handleGetUser(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		u, err := d.Store.GetUser(r.Context(), r.PathValue("tid"), r.PathValue("uid"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, userOut(u), nil
	})
}

func handleUpdateUser(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[identity.UserInput](r)
		if err != nil {
			return 0, nil, err
		}
		u, err := d.Service.UpdateUser(r.Context(), r.PathValue("tid"), r.PathValue("uid"), in)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, userOut(u), nil
	})
}

func handleDeleteUser(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, d.Store.DeleteUser(r.Context(), r.PathValue("tid"), r.PathValue("uid"))
	})
}

func handleListSessions(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		if _, err := d.Store.GetUser(r.Context(), r.PathValue("tid"), r.PathValue("uid")); err != nil {
			return 0, nil, err
		}
		ss, err := d.Store.ListUserSessions(r.Context(), r.PathValue("tid"), r.PathValue("uid"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"sessions": mapSlice(ss, sessionOut)}, nil
	})
}

func handleRevokeSessions(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		if _, err := d.Store.GetUser(r.Context(), r.PathValue("tid"), r.PathValue("uid")); err != nil {
			return 0, nil, err
		}
		n, err := d.Store.RevokeUserSessions(r.Context(), r.PathValue("tid"), r.PathValue("uid"), time.Now(), "revoked by admin")
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]int{"revoked": n}, nil
	})
}

// Organisations.

func handleCreateOrganisation(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[identity.OrganisationInput](r)
		if err != nil {
			return 0, nil, err
		}
		o, err := d.Service.CreateOrganisation(r.Context(), r.PathValue("tid"), in)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, orgOut(o), nil
	})
}

func handleListOrganisations(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		if _, err := tenant(d, r); err != nil {
			return 0, nil, err
		}
		os, next, err := d.Store.ListOrganisations(r.Context(), r.PathValue("tid"), p)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"organisations": mapSlice(os, orgOut), "next_cursor": next}, nil
	})
}

func handleGetOrganisation(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		o, err := d.Store.GetOrganisation(r.Context(), r.PathValue("tid"), r.PathValue("oid"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, orgOut(o), nil
	})
}

func handleUpdateOrganisation(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		in, err := decode[identity.OrganisationInput](r)
		if err != nil {
			return 0, nil, err
		}
		o, err := d.Service.UpdateOrganisation(r.Context(), r.PathValue("tid"), r.PathValue("oid"), in)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, orgOut(o), nil
	})
}

func handleDeleteOrganisation(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, d.Store.DeleteOrganisation(r.Context(), r.PathValue("tid"), r.PathValue("oid"))
	})
}

// Events.

func handleListEvents(d Deps) http.Handler {
	return adminHandler(d, func(r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		if _, err := tenant(d, r); err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		f := identity.EventFilter{Type: q.Get("type"), UserID: q.Get("user_id")}
		evs, next, err := d.Store.ListEvents(r.Context(), r.PathValue("tid"), f, p)
		if err != nil {
			return 0, nil, err
		}
		out := mapSlice(evs, func(e *identity.Event) eventJSON {
			return eventJSON{e.ID, e.Type, e.UserID, e.SessionID, e.CreatedAt, obj(e.Data)}
		})
		return http.StatusOK, map[string]any{"events": out, "next_cursor": next}, nil
	})
}
