package tokenlogin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

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

// statuses and messages map identity codes to this dialect's status and
// message: the one place where that mapping lives (docs/errors.md lists
// it). Codes without a message show identity's.
var statuses = map[string]int{
	identity.EINVALID:           http.StatusBadRequest,
	identity.EUNAUTHENTICATED:   http.StatusUnauthorized,
	identity.ETOKENINVALID:      http.StatusUnauthorized,
	identity.ETWOFACTORREQUIRED: http.StatusUnauthorized,
	identity.EEMAILUNVERIFIED:   http.StatusUnauthorized,
	identity.ETWOFACTORINVALID:  http.StatusUnauthorized,
	identity.ETOKENREUSED:       http.StatusConflict,
	identity.ECONFLICT:          http.StatusConflict,
	identity.ENOTFOUND:          http.StatusNotFound,
	identity.ERATELIMITED:       http.StatusTooManyRequests,
	identity.EUNAVAILABLE:       http.StatusServiceUnavailable,
	identity.EINTERNAL:          http.StatusInternalServerError,
}

const (
	messageInvalid  = "The request is invalid."
	messageInternal = "An error has occurred."
)

// fieldNames maps identity's field names to this dialect's.
var fieldNames = map[string]string{"email": "userName", "login": "userName", "password": "password", "device_name": "deviceName",
	"api_key": "APIKey", "session_token": "APIToken"}

// messages are this dialect's words for identity's (wire.Edge.Messages).
var messages = map[string]string{
	identity.ETWOFACTORREQUIRED:               wire.NoSecondFactor,
	identity.EUNAUTHENTICATED + "/api_key":    "the APIKey is missing, unknown or revoked",
	identity.ETOKENINVALID + "/session_token": "the APIToken is not a session token this server issued",
}

// render writes a failure in the ASP.NET shape (wire.Edge.Render).
func render(w http.ResponseWriter, r *http.Request, f wire.Failure) {
	resp := ErrorResponse{Message: f.Message, StatusCode: f.Status}
	switch {
	case f.Body != "":
		field := f.Field
		if field == "" {
			field = "body"
		}
		resp.ModelState = map[string][]string{field: {f.Message}}
	case f.Code == identity.EINVALID:
		field := fieldNames[f.Field]
		if field == "" {
			field = f.Field
		}
		resp.Message, resp.ModelState = messageInvalid, map[string][]string{field: {field + " " + f.Message}}
	case f.Status == http.StatusInternalServerError:
		resp.Message = messageInternal
	}
	writeError(w, r, resp)
}

// writeError answers resp with its status, or with 200 when the caller
// asked for suppressResponseCodes (then a failed Login or TokenLogin also
// says "Authenticated": false). A bad suppressResponseCodes itself cannot
// be suppressed.
func writeError(w http.ResponseWriter, r *http.Request, resp ErrorResponse) {
	status := resp.StatusCode
	if opts, err := ParseOptions(r); err == nil && opts.Suppress {
		if r.Pattern == "POST "+pathLogin || r.Pattern == "POST "+pathTokenLogin {
			f := false
			resp.Authenticated = &f
		}
		status = http.StatusOK
	}
	wire.WriteJSON(w, status, resp)
}

// route is one request's context: its options and how it fails.
type route struct {
	e     *wire.Edge
	w     http.ResponseWriter
	r     *http.Request
	opts  Options
	count func(dialect, outcome string)
}

// fail counts and answers err. A *Problem is the dialect's own field
// message, answered as is; anything else goes through the shared edge.
func (rt *route) fail(err error) {
	rt.count(Dialect, wire.Outcome(err))
	var p *Problem
	if errors.As(err, &p) {
		writeError(rt.w, rt.r, ErrorResponse{Message: messageInvalid, ModelState: map[string][]string{p.Field: {p.Message}}, StatusCode: http.StatusBadRequest})
		return
	}
	rt.e.Fail(rt.w, rt.r, err)
}

// begin does what every route does after the address limit: read the
// options, find the tenant by APIKey and read the body.
func begin(w http.ResponseWriter, r *http.Request, e *wire.Edge, d wire.Deps, count func(dialect, outcome string)) (*route, *identity.Tenant, body, bool) {
	rt := &route{e: e, w: w, r: r, count: count}
	opts, err := ParseOptions(r)
	if err != nil {
		rt.fail(err)
		return nil, nil, nil, false
	}
	rt.opts = opts
	key, err := param(r, "APIKey")
	if err != nil {
		rt.fail(err)
		return nil, nil, nil, false
	}
	tenant, err := d.Auth.TenantForAPIKey(r.Context(), key)
	if err != nil {
		rt.fail(err)
		return nil, nil, nil, false
	}
	wire.ForTenant(r, tenant)
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
	wire.WriteJSON(rt.w, http.StatusOK, Select(data, rt.opts.Fields))
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

func handleLogin(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, tenant, b, ok := begin(w, r, e, d, d.Metrics.Login)
		if !ok {
			return
		}
		req, wantReauth, err := loginRequest(b)
		if err != nil {
			rt.fail(err)
			return
		}
		req.TenantID, req.NoSecondFactor, req.Client = tenant.ID, true, wire.ClientOf(r)
		res, err := d.Auth.DeviceLogin(r.Context(), req, wantReauth)
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
	case utf8.RuneCountInString(user) > 256:
		return req, false, &Problem{"userName", "The userName field must be at most 256 characters."}
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
	// userName is the user's email or user name; identity tells which.
	return identity.LoginRequest{Login: user, Password: pw, Device: strings.TrimSpace(device)}, want, nil
}

func handleTokenLogin(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, tenant, b, ok := begin(w, r, e, d, d.Metrics.Refresh)
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
		res, err := d.Auth.TokenLogin(r.Context(), tenant.ID, tok, wire.ClientOf(r))
		if err != nil {
			rt.fail(err)
			return
		}
		d.Metrics.Refresh(Dialect, "reauthenticated")
		rt.answer(res)
	})
}

func handleLogout(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, tenant, _, ok := begin(w, r, e, d, d.Metrics.Logout)
		if !ok {
			return
		}
		tok, err := param(r, "APIToken")
		if err == nil && tok == "" {
			err = &identity.Error{Code: identity.ETOKENINVALID, Message: "the APIToken is missing; send the SessionToken of the session to end"}
		}
		if err == nil {
			err = d.Auth.DeviceLogout(r.Context(), tenant.ID, tok, wire.ClientOf(r))
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
