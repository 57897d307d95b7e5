package tokenlogin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
)

// LoginData is the answer to Login and TokenLogin.
type LoginData struct {
	Authenticated         bool        `json:"Authenticated"`
	ReAuthenticationToken string      `json:"ReAuthenticationToken"`
	Me                    CurrentUser `json:"Me"`
	SessionToken          string      `json:"SessionToken"`
}

// CurrentUser is the basic information about the user that logged in.
type CurrentUser struct {
	ID        string `json:"ID"`
	FirstName string `json:"FirstName"`
	LastName  string `json:"LastName"`
	ImageURL  string `json:"ImageURL"`
}

// ErrorResponse is an error as ASP.NET Web API writes it, plus StatusCode
// so that a caller with suppressResponseCodes still learns the status.
type ErrorResponse struct {
	Authenticated *bool               `json:"Authenticated,omitempty"` // false on a failed login when codes are suppressed
	Message       string              `json:"Message"`
	ModelState    map[string][]string `json:"ModelState,omitempty"`
	StatusCode    int                 `json:"StatusCode"`
}

// statuses maps identity codes to this dialect's status and message: the
// one place where that mapping lives (docs/errors.md lists it).
var statuses = map[string]struct {
	status  int
	message string
}{
	identity.EINVALID:           {http.StatusBadRequest, "The request is invalid."},
	identity.EUNAUTHENTICATED:   {http.StatusUnauthorized, ""},
	identity.ETOKENINVALID:      {http.StatusUnauthorized, ""},
	identity.ETWOFACTORREQUIRED: {http.StatusUnauthorized, ""},
	identity.ETWOFACTORINVALID:  {http.StatusUnauthorized, ""},
	identity.ETOKENREUSED:       {http.StatusConflict, ""},
	identity.ECONFLICT:          {http.StatusConflict, ""},
	identity.ENOTFOUND:          {http.StatusNotFound, ""},
	identity.ERATELIMITED:       {http.StatusTooManyRequests, ""},
	identity.EUNAVAILABLE:       {http.StatusServiceUnavailable, ""},
	identity.EINTERNAL:          {http.StatusInternalServerError, "An error has occurred."},
}

// fieldNames maps identity's field names to this dialect's.
var fieldNames = map[string]string{"email": "userName", "password": "password", "device_name": "deviceName"}

// route is one request's context: its options and how it answers.
type route struct {
	w      http.ResponseWriter
	r      *http.Request
	d      Deps
	opts   Options
	login  bool // Login and TokenLogin answer Authenticated: false when codes are suppressed
	count  func(dialect, outcome string)
	client identity.Client
}

func (rt *route) fail(err error) {
	rt.count(Dialect, wire.Outcome(err))
	resp, status := rt.errorBody(err)
	if rt.opts.Suppress {
		if rt.login {
			f := false
			resp.Authenticated = &f
		}
		status = http.StatusOK
	}
	writeJSON(rt.w, status, resp)
}

func (rt *route) errorBody(err error) (ErrorResponse, int) {
	var p *Problem
	var be *wire.BodyError
	switch {
	case errors.As(err, &p):
		return ErrorResponse{Message: "The request is invalid.", ModelState: map[string][]string{p.Field: {p.Message}}, StatusCode: http.StatusBadRequest}, http.StatusBadRequest
	case errors.As(err, &be):
		status, field := http.StatusBadRequest, be.Field
		if be.Problem == wire.ProblemMediaType {
			status = http.StatusUnsupportedMediaType
		}
		if field == "" {
			field = "body"
		}
		return ErrorResponse{Message: be.Message, ModelState: map[string][]string{field: {be.Message}}, StatusCode: status}, status
	}
	e := identity.AsError(err)
	s, ok := statuses[e.Code]
	if !ok {
		s = statuses[identity.EINTERNAL]
	}
	resp := ErrorResponse{Message: e.Message, StatusCode: s.status}
	switch e.Code {
	case identity.EINVALID:
		field := fieldNames[e.Field]
		if field == "" {
			field = e.Field
		}
		resp.Message, resp.ModelState = s.message, map[string][]string{field: {field + " " + e.Message}}
	case identity.ERATELIMITED:
		rt.d.Metrics.RateLimited(e.Field, Dialect)
		rt.w.Header().Set("Retry-After", wire.RetryAfterSeconds(e))
	case identity.EUNAVAILABLE:
		rt.w.Header().Set("Retry-After", wire.RetryAfterSeconds(e))
	case identity.EINTERNAL:
		rt.d.Logger.ErrorContext(rt.r.Context(), "request failed", "route", rt.r.Pattern, "err", err)
		resp.Message = s.message
	}
	return resp, s.status
}

// begin does what every route does first: read the options, count the
// request against the address limit, find the tenant by APIKey and read
// the body.
func begin(w http.ResponseWriter, r *http.Request, d Deps, action string, login bool, count func(dialect, outcome string)) (*route, *identity.Tenant, body, bool) {
	rt := &route{w: w, r: r, d: d, login: login, count: count, client: d.Clients.Client(r, Dialect)}
	opts, err := ParseOptions(r)
	if err != nil {
		rt.fail(err) // codes cannot be suppressed when the option itself is bad
		return nil, nil, nil, false
	}
	rt.opts = opts
	if err := d.Service.AdmitIP(r.Context(), action, rt.client); err != nil {
		rt.fail(err)
		return nil, nil, nil, false
	}
	key, err := param(r, "APIKey")
	if err != nil {
		rt.fail(err)
		return nil, nil, nil, false
	}
	tenant, err := d.Service.TenantForAPIKey(r.Context(), key)
	if err != nil {
		rt.fail(err)
		return nil, nil, nil, false
	}
	b, err := readBody(r)
	if err != nil {
		rt.fail(err)
		return nil, nil, nil, false
	}
	return rt, tenant, b, true
}

// answer writes LoginData, keeping only the requested top-level fields.
func (rt *route) answer(res *identity.DeviceLoginResult) {
	data := LoginData{
		Authenticated: true, ReAuthenticationToken: res.ReauthToken, SessionToken: res.SessionToken,
		Me: CurrentUser{ID: res.User.ID, FirstName: res.User.FirstName, LastName: res.User.LastName, ImageURL: imageURL(res.User)},
	}
	writeJSON(rt.w, http.StatusOK, Select(data, rt.opts.Fields))
}

func imageURL(u *identity.User) string {
	p := wire.Object(u.Profile)
	for _, k := range []string{"image_url", "ImageURL", "avatar_url"} {
		if s := p.Str(k); s != "" {
			return s
		}
	}
	return ""
}

// Select keeps the top-level properties of v named in fields
// (lower-case); unknown names are ignored, and when none match, or fields
// is nil, v is returned whole.
func Select(v any, fields []string) any {
	if len(fields) == 0 {
		return v
	}
	raw, _ := json.Marshal(v)
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return v
	}
	out := map[string]json.RawMessage{}
	for k, val := range m {
		for _, f := range fields {
			if strings.ToLower(k) == f {
				out[k] = val
			}
		}
	}
	if len(out) == 0 {
		return v
	}
	return out
}

func handleLogin(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, tenant, b, ok := begin(w, r, d, "login", true, d.Metrics.Login)
		if !ok {
			return
		}
		req, wantReauth, err := loginRequest(b)
		if err != nil {
			rt.fail(err)
			return
		}
		req.TenantID, req.NoSecondFactor, req.Client = tenant.ID, true, rt.client
		res, err := d.Service.DeviceLogin(r.Context(), req, wantReauth)
		if err != nil {
			rt.fail(err)
			return
		}
		d.Metrics.Login(Dialect, "success")
		rt.answer(res)
	})
}

// loginRequest reads and checks the Login body.
func loginRequest(b body) (identity.LoginRequest, bool, error) {
	var req identity.LoginRequest
	user, err := b.str("userName")
	if err != nil {
		return req, false, err
	}
	email, err := b.str("email")
	if err != nil {
		return req, false, err
	}
	if user != "" && email != "" && !strings.EqualFold(strings.TrimSpace(user), strings.TrimSpace(email)) {
		return req, false, &Problem{"userName", "userName and email name different users; send one of them."}
	}
	if user == "" {
		user = email
	}
	pw, err := b.str("password")
	if err != nil {
		return req, false, err
	}
	device, err := b.str("deviceName")
	if err != nil {
		return req, false, err
	}
	want, err := b.boolean("generateReAuthenticationToken")
	if err != nil {
		return req, false, err
	}
	user = strings.TrimSpace(user)
	switch {
	case user == "":
		return req, false, &Problem{"userName", "The userName field is required."}
	case !identity.ValidEmail(user):
		return req, false, &Problem{"userName", "The userName field must be an email address."}
	case pw == "":
		return req, false, &Problem{"password", "The password field is required."}
	case len(device) > 256:
		return req, false, &Problem{"deviceName", "The deviceName field must be at most 256 characters."}
	case want && strings.TrimSpace(device) == "":
		return req, false, &Problem{"deviceName", "The deviceName field is required when generateReAuthenticationToken is true."}
	}
	if _, err := password.Normalize(pw); err != nil {
		return req, false, &Problem{"password", "The password field must be at most 256 bytes."}
	}
	return identity.LoginRequest{Email: user, Password: pw, Device: strings.TrimSpace(device)}, want, nil
}

func handleTokenLogin(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, tenant, b, ok := begin(w, r, d, "refresh", true, d.Metrics.Refresh)
		if !ok {
			return
		}
		tok, err := b.str("reAuthenticationToken")
		if err == nil && tok == "" {
			err = &Problem{"reAuthenticationToken", "The reAuthenticationToken field is required."}
		} else if err == nil && len(tok) > 1024 {
			err = &Problem{"reAuthenticationToken", "The reAuthenticationToken field must be at most 1024 characters."}
		}
		if err != nil {
			rt.fail(err)
			return
		}
		res, err := d.Service.TokenLogin(r.Context(), tenant.ID, tok, rt.client)
		if err != nil {
			rt.fail(err)
			return
		}
		d.Metrics.Refresh(Dialect, "reauthenticated")
		rt.answer(res)
	})
}

func handleLogout(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, tenant, _, ok := begin(w, r, d, "logout", false, d.Metrics.Logout)
		if !ok {
			return
		}
		tok, err := param(r, "APIToken")
		if err == nil && tok == "" {
			err = &identity.Error{Code: identity.ETOKENINVALID, Message: "the APIToken is missing; send the SessionToken of the session to end"}
		}
		if err == nil {
			err = d.Service.DeviceLogout(r.Context(), tenant.ID, tok, rt.client)
		}
		if err != nil {
			rt.fail(err)
			return
		}
		d.Metrics.Logout(Dialect, "success")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
