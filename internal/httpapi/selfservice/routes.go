package selfservice

import (
	"net/http"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// Dialect is the surface's name in metrics, events and logs.
const Dialect = identity.ViaSelfService

// Prefix is the path prefix of the self-service routes.
const Prefix = "/auth/v1/me"

// Action is the name of the address limit the routes count against
// (LATCH_RATE_LIMIT_IP, as the login routes).
const Action = "self-service"

// Routes returns the self-service routes, for httpapi to mount behind
// wire.Route.Serve. self is nil when only the patterns are wanted.
func Routes(d wire.Deps, self *identity.Self) []wire.Route {
	e := d.Edge(Dialect, wire.ProblemStatuses, nil, render)
	h := handlers{e: e, self: self}
	routes := []wire.Route{
		{Pattern: "POST " + Prefix + "/totp", Handler: h.serve(h.beginTOTP)},
		{Pattern: "POST " + Prefix + "/totp/confirm", Handler: h.serve(h.confirmTOTP)},
		{Pattern: "DELETE " + Prefix + "/totp", Handler: h.serve(h.disableTOTP)},
		{Pattern: "POST " + Prefix + "/recovery-codes", Handler: h.serve(h.regenerateRecoveryCodes)},
		{Pattern: "GET " + Prefix + "/sessions", Handler: h.serve(h.listSessions)},
		{Pattern: "DELETE " + Prefix + "/sessions/{sid}", Handler: h.serve(h.revokeSession)},
	}
	for i := range routes {
		routes[i].Action, routes[i].Edge = Action, e
	}
	return routes
}

// WriteUnrouted answers a request under Prefix that no route takes: 404,
// or 405 when only the method is wrong (the caller sets Allow).
func WriteUnrouted(w http.ResponseWriter, r *http.Request, status int) {
	code, detail := "not_found", "there is no route "+r.URL.Path
	if status == http.StatusMethodNotAllowed {
		code, detail = "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+"; see the Allow header"
	}
	wire.WriteProblem(w, status, Dialect, code, detail, nil)
}

// render writes a failure as a problem document. A refused access token
// also gets the RFC 6750 challenge, so that a client library knows to
// refresh.
func render(w http.ResponseWriter, r *http.Request, f wire.Failure) {
	code, detail := f.Code, f.Message
	if f.Body != "" {
		code = f.Body
	}
	if f.Body == wire.ProblemTooLarge {
		f.Status = http.StatusRequestEntityTooLarge // as the admin API answers it
	}
	var fields []wire.ProblemField
	if f.Field != "" {
		fields = []wire.ProblemField{{Field: f.Field, Message: f.Message}}
		if f.Body == "" { // a body problem's message names its field already, as on the admin API
			detail = f.Field + ": " + f.Message
		}
	}
	if f.Code == identity.ETOKENINVALID {
		w.Header().Set("WWW-Authenticate", `Bearer realm="latch", error="invalid_token"`)
	}
	wire.WriteProblem(w, f.Status, Dialect, code, detail, fields)
}

type handlers struct {
	e    *wire.Edge
	self *identity.Self
}

// serve authenticates the caller by its access token, then runs fn, which
// answers (status, body, error); errors are written in one place.
func (h handlers) serve(fn func(r *http.Request, c *identity.Caller) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, c, err := h.self.Authenticate(r.Context(), bearer(r), wire.ClientOf(r))
		if err != nil {
			h.e.Fail(w, r, err)
			return
		}
		wire.ForTenant(r, c.Tenant) // the tenant's CORS origins apply
		status, body, err := fn(r.WithContext(ctx), c)
		switch {
		case err != nil:
			h.e.Fail(w, r, err)
		case body == nil:
			w.WriteHeader(status)
		default:
			wire.WriteJSON(w, status, body)
		}
	})
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme in any case, RFC 7235), or "".
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// CodeRequest is the body of the routes that take a code: a current code
// from the authenticator app, or (to turn two-factor off or renew the
// recovery codes) an unused recovery code instead.
type CodeRequest struct {
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

// decodeCode reads a CodeRequest; no body is an empty request, so that
// a DELETE without one (a pending enrolment needs no code) works.
func decodeCode(r *http.Request) (CodeRequest, error) {
	var in CodeRequest
	if r.ContentLength == 0 {
		return in, nil
	}
	return in, wire.DecodeJSON(r, &in, wire.TextPlain)
}

// TOTPEnrolment is the answer to starting an enrolment: the secret (for
// typing in), the otpauth URL and the URL as a QR code (base64 PNG).
type TOTPEnrolment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRPNG      string `json:"qr_png"`
}

// RecoveryCodes is the answer carrying new recovery codes, shown once.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// Session is one of the caller's live sessions.
type Session struct {
	ID         string    `json:"id"`
	Device     string    `json:"device"` // the device name the client gave, else its User-Agent
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Current    bool      `json:"current"` // the session of the access token presented
}

// Sessions is the answer to listing sessions.
type Sessions struct {
	Sessions []Session `json:"sessions"`
}

func (h handlers) beginTOTP(r *http.Request, c *identity.Caller) (int, any, error) {
	e, err := h.self.BeginTOTP(r.Context(), c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, TOTPEnrolment{e.Secret, e.OTPAuthURL, e.QRPNG}, nil
}

func (h handlers) confirmTOTP(r *http.Request, c *identity.Caller) (int, any, error) {
	in, err := decodeCode(r)
	if err != nil {
		return 0, nil, err
	}
	codes, err := h.self.ConfirmTOTP(r.Context(), c, in.Code)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, RecoveryCodes{codes}, nil
}

func (h handlers) disableTOTP(r *http.Request, c *identity.Caller) (int, any, error) {
	in, err := decodeCode(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, h.self.DisableTOTP(r.Context(), c, in.Code, in.RecoveryCode)
}

func (h handlers) regenerateRecoveryCodes(r *http.Request, c *identity.Caller) (int, any, error) {
	in, err := decodeCode(r)
	if err != nil {
		return 0, nil, err
	}
	codes, err := h.self.RegenerateRecoveryCodes(r.Context(), c, in.Code, in.RecoveryCode)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, RecoveryCodes{codes}, nil
}

func (h handlers) listSessions(r *http.Request, c *identity.Caller) (int, any, error) {
	list, err := h.self.ListSessions(r.Context(), c)
	if err != nil {
		return 0, nil, err
	}
	out := Sessions{Sessions: make([]Session, 0, len(list))}
	for _, s := range list {
		device := s.DeviceName
		if device == "" {
			device = s.UserAgent
		}
		out.Sessions = append(out.Sessions, Session{s.ID, device, s.IP, s.CreatedAt, s.LastSeenAt, s.ID == c.Session.ID})
	}
	return http.StatusOK, out, nil
}

func (h handlers) revokeSession(r *http.Request, c *identity.Caller) (int, any, error) {
	return http.StatusNoContent, nil, h.self.RevokeSession(r.Context(), c, r.PathValue("sid"))
}
