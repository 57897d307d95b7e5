package appauth

import (
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

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
	case strings.ContainsRune(*r.Email, 0):
		return identity.Invalid("email", "must not contain NUL characters")
	case r.Password == nil || *r.Password == "":
		return identity.Invalid("password", "is required")
	case strings.ContainsRune(*r.Password, 0):
		return identity.Invalid("password", "must not contain NUL characters")
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
	case strings.ContainsRune(*r.RefreshToken, 0):
		return identity.Invalid("refresh_token", "must not contain NUL characters")
	}
	return nil
}

type validator interface{ Validate() error }

// begin does what every route does after the address limit: check app_id,
// decode and validate. It answers the error itself and returns false on
// failure.
func begin(w http.ResponseWriter, r *http.Request, e *wire.Edge, d wire.Deps, body validator, count func(dialect, outcome string)) (*identity.Tenant, bool) {
	// Tenant ids are stored in canonical form; an app_id in capitals is
	// the same app.
	appID := r.PathValue("app_id")
	if id, err := uuid.Parse(appID); err == nil {
		appID = id.String()
	}
	tenant, err := d.Auth.Tenant(r.Context(), appID)
	if e.Refused(w, r, err, count) {
		return nil, false
	}
	wire.ForTenant(r, tenant)
	if err := wire.DecodeJSON(r, body, wire.TextPlain); e.Refused(w, r, err, count) {
		return nil, false
	}
	if err := body.Validate(); e.Refused(w, r, err, count) {
		return nil, false
	}
	return tenant, true
}

// answer renders a successful login or refresh.
func answer(w http.ResponseWriter, r *http.Request, e *wire.Edge, d wire.Deps, res *identity.LoginResult) {
	orgs, err := d.Auth.UserOrganisations(r.Context(), res.User)
	if err != nil {
		e.Fail(w, r, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, TokenResponse{
		AccessToken: res.AccessToken, ExpiresIn: int64(math.Ceil(res.AccessExpiresAt.Sub(res.IssuedAt).Seconds())),
		RefreshToken: res.RefreshToken, TokenType: "Bearer", User: renderUser(res.User, orgs),
	})
}

func handleLogin(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req LoginRequest
		tenant, ok := begin(w, r, e, d, &req, d.Metrics.Login)
		if !ok {
			return
		}
		res, err := d.Auth.Login(r.Context(), identity.LoginRequest{
			TenantID: tenant.ID, Email: strings.TrimSpace(*req.Email), Password: *req.Password, NoSecondFactor: true, Client: wire.ClientOf(r),
		})
		if e.Refused(w, r, err, d.Metrics.Login) {
			return
		}
		d.Metrics.Login(Dialect, "success")
		answer(w, r, e, d, res)
	})
}

func handleRefresh(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req TokenRequest
		tenant, ok := begin(w, r, e, d, &req, d.Metrics.Refresh)
		if !ok {
			return
		}
		res, err := d.Auth.RefreshIn(r.Context(), tenant.ID, *req.RefreshToken, wire.ClientOf(r))
		if e.Refused(w, r, err, d.Metrics.Refresh) {
			return
		}
		d.Metrics.Refresh(Dialect, wire.RefreshOutcome(res))
		answer(w, r, e, d, res)
	})
}

func handleLogout(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req TokenRequest
		tenant, ok := begin(w, r, e, d, &req, d.Metrics.Logout)
		if !ok {
			return
		}
		if err := d.Auth.LogoutIn(r.Context(), tenant.ID, *req.RefreshToken, wire.ClientOf(r)); e.Refused(w, r, err, d.Metrics.Logout) {
			return
		}
		d.Metrics.Logout(Dialect, "success")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
}
