package appauth

import (
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
)

// LoginRequest is the login body.
type LoginRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

// TokenRequest is the refresh and logout body.
type TokenRequest struct {
	RefreshToken *string `json:"refresh_token"`
}

// TokenResponse is the answer to a login or refresh.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	User         User   `json:"user"`
}

// MinPasswordLength is the reference's minimum for this dialect.
const MinPasswordLength = 10

// Validate checks the login body; the error names the first bad field.
func (r *LoginRequest) Validate() error {
	switch {
	case r.Email == nil || strings.TrimSpace(*r.Email) == "":
		return identity.Invalid("email", "is required")
	case !identity.ValidEmail(strings.TrimSpace(*r.Email)):
		return identity.Invalid("email", "must be an email address of at most 256 characters")
	case r.Password == nil || *r.Password == "":
		return identity.Invalid("password", "is required")
	case utf8.RuneCountInString(*r.Password) < MinPasswordLength:
		return identity.Invalid("password", "must be at least %d characters", MinPasswordLength)
	}
	if _, err := password.Normalize(*r.Password); err != nil {
		return identity.Invalid("password", "must be at most %d bytes", password.MaxBytes)
	}
	return nil
}

// Validate checks the refresh and logout body.
func (r *TokenRequest) Validate() error {
	switch {
	case r.RefreshToken == nil || *r.RefreshToken == "":
		return identity.Invalid("refresh_token", "is required")
	case len(*r.RefreshToken) > 1024:
		return identity.Invalid("refresh_token", "must be at most 1024 characters")
	}
	return nil
}

type validator interface{ Validate() error }

// begin does what every route does first: count the request against the
// address limit (before reading the body), check app_id, decode and
// validate. It answers the error itself and returns false on failure.
func begin(w http.ResponseWriter, r *http.Request, d Deps, action string, body validator, count func(dialect, outcome string)) (identity.Client, *identity.Tenant, bool) {
	c := d.Clients.Client(r, Dialect)
	fail := func(err error) (identity.Client, *identity.Tenant, bool) {
		count(Dialect, wire.Outcome(err))
		writeError(w, r, d, err)
		return c, nil, false
	}
	if err := d.Service.AdmitIP(r.Context(), action, c); err != nil {
		return fail(err)
	}
	tenant, err := d.Service.Tenant(r.Context(), r.PathValue("app_id"))
	if err != nil {
		return fail(err)
	}
	if err := wire.DecodeJSON(r, body); err != nil {
		return fail(err)
	}
	if err := body.Validate(); err != nil {
		return fail(err)
	}
	return c, tenant, true
}

// answer renders a successful login or refresh.
func answer(w http.ResponseWriter, r *http.Request, d Deps, res *identity.LoginResult) {
	orgs, err := d.Service.UserOrganisations(r.Context(), res.User)
	if err != nil {
		writeError(w, r, d, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{
		AccessToken: res.AccessToken, ExpiresIn: int64(math.Ceil(res.AccessExpiresAt.Sub(res.IssuedAt).Seconds())),
		RefreshToken: res.RefreshToken, TokenType: "Bearer", User: renderUser(res.User, orgs),
	})
}

func handleLogin(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req LoginRequest
		client, tenant, ok := begin(w, r, d, "login", &req, d.Metrics.Login)
		if !ok {
			return
		}
		res, err := d.Service.Login(r.Context(), identity.LoginRequest{
			TenantID: tenant.ID, Email: strings.TrimSpace(*req.Email), Password: *req.Password, NoSecondFactor: true, Client: client,
		})
		if err != nil {
			d.Metrics.Login(Dialect, wire.Outcome(err))
			writeError(w, r, d, err)
			return
		}
		d.Metrics.Login(Dialect, "success")
		answer(w, r, d, res)
	})
}

func handleRefresh(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req TokenRequest
		client, tenant, ok := begin(w, r, d, "refresh", &req, d.Metrics.Refresh)
		if !ok {
			return
		}
		res, err := d.Service.RefreshIn(r.Context(), tenant.ID, *req.RefreshToken, client)
		if err != nil {
			d.Metrics.Refresh(Dialect, wire.Outcome(err))
			writeError(w, r, d, err)
			return
		}
		if res.Grace {
			d.Metrics.Refresh(Dialect, "grace")
		} else {
			d.Metrics.Refresh(Dialect, "rotated")
		}
		answer(w, r, d, res)
	})
}

func handleLogout(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req TokenRequest
		client, tenant, ok := begin(w, r, d, "logout", &req, d.Metrics.Logout)
		if !ok {
			return
		}
		if err := d.Service.LogoutIn(r.Context(), tenant.ID, *req.RefreshToken, client); err != nil {
			d.Metrics.Logout(Dialect, wire.Outcome(err))
			writeError(w, r, d, err)
			return
		}
		d.Metrics.Logout(Dialect, "success")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
}
