package selfservice

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// The account routes are latch's own (no hosted API has them): a
// forgotten password and email verification, under /auth/v1/{tid}/. They
// run behind the dialects' middleware (client, address limit before the
// body, CORS) and answer errors as RFC 9457 problem documents, like the
// admin API.

// AccountsDialect names the account routes in events, logs and metrics.
const AccountsDialect = "latch"

// accountStatuses maps identity codes to the account routes' statuses. An
// unusable token is the caller's bad input (400), not a failed login.
var accountStatuses = map[string]int{
	identity.EINVALID:      http.StatusBadRequest,
	identity.ETOKENINVALID: http.StatusBadRequest,
	identity.ENOTFOUND:     http.StatusNotFound,
	identity.ERATELIMITED:  http.StatusTooManyRequests,
	identity.EUNAVAILABLE:  http.StatusServiceUnavailable,
	identity.EINTERNAL:     http.StatusInternalServerError,
}

func renderAccountProblem(w http.ResponseWriter, _ *http.Request, f wire.Failure) {
	code := f.Code
	if f.Body != "" {
		code = f.Body
	}
	var fields []wire.ProblemField
	detail := f.Message
	if f.Field != "" {
		fields = []wire.ProblemField{{Field: f.Field, Message: f.Message}}
		detail = f.Field + ": " + f.Message
	}
	wire.WriteProblem(w, f.Status, "account", code, detail, fields)
}

// AccountRoutes returns the account routes, for httpapi to mount with the
// dialects' behind wire.Route.Serve.
func AccountRoutes(wd wire.Deps, d *identity.Accounts) []wire.Route {
	e := wd.Edge(AccountsDialect, accountStatuses, nil, renderAccountProblem)
	return []wire.Route{
		{Pattern: "POST /auth/v1/{tid}/password/forgot", Action: "forgot", Edge: e, Handler: handleMailRequest(d, e, true)},
		{Pattern: "POST /auth/v1/{tid}/password/reset", Action: "reset", Edge: e, Handler: handleResetPassword(d, e)},
		{Pattern: "POST /auth/v1/{tid}/verify/send", Action: "forgot", Edge: e, Handler: handleMailRequest(d, e, false)},
		{Pattern: "GET /auth/v1/{tid}/verify", Action: "verify", Edge: e, Handler: handleVerify(d, e)},
	}
}

// mailRequested is the one answer to a forgotten password or a request
// for a verification mail, whether or not a user has the address.
type mailRequested struct {
	Message string `json:"message"`
}

func handleMailRequest(d *identity.Accounts, e *wire.Edge, reset bool) http.Handler {
	type request struct {
		Email *string `json:"email"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := wire.DecodeJSON(r, &in, wire.TextPlain); err != nil {
			e.Fail(w, r, err)
			return
		}
		if in.Email == nil || strings.TrimSpace(*in.Email) == "" {
			e.Fail(w, r, identity.Invalid("email", "is required"))
			return
		}
		do := d.SendVerification
		if reset {
			do = d.ForgotPassword
		}
		if err := do(r.Context(), r.PathValue("tid"), *in.Email, wire.ClientOf(r)); err != nil {
			e.Fail(w, r, err)
			return
		}
		wire.WriteJSON(w, http.StatusAccepted, mailRequested{"if an account has this address, a mail is on its way"})
	})
}

func handleResetPassword(d *identity.Accounts, e *wire.Edge) http.Handler {
	type request struct {
		Token    *string `json:"token"`
		Password *string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := wire.DecodeJSON(r, &in, wire.TextPlain); err != nil {
			e.Fail(w, r, err)
			return
		}
		switch {
		case in.Token == nil || *in.Token == "":
			e.Fail(w, r, identity.Invalid("token", "is required"))
		case in.Password == nil || *in.Password == "":
			e.Fail(w, r, identity.Invalid("password", "is required"))
		default:
			if err := d.ResetPassword(r.Context(), r.PathValue("tid"), *in.Token, *in.Password, wire.ClientOf(r)); err != nil {
				e.Fail(w, r, err)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

// verifiedPage is what a browser that followed a verification link sees
// when the tenant has no page of its own for it (email_verified_url).
var verifiedPage = template.Must(template.New("verified").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head><body><h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

// handleVerify follows a verification link. A browser is sent (303) to
// the tenant's email_verified_url with ?status=verified or
// ?status=invalid; without one, latch answers a short page itself to a
// browser (Accept: text/html), and JSON ({"status": "verified"} or a
// problem document) to anything else.
func handleVerify(d *identity.Accounts, e *wire.Edge) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := d.VerifyEmail(r.Context(), r.PathValue("tid"), r.URL.Query().Get("token"), wire.ClientOf(r))
		if err != nil && identity.ErrorCode(err) != identity.ETOKENINVALID {
			e.Fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer") // the link held a token
		status := "verified"
		if err != nil {
			status = "invalid"
		}
		if t != nil && t.Settings.EmailVerifiedURL != "" {
			u, perr := url.Parse(t.Settings.EmailVerifiedURL)
			if perr == nil {
				q := u.Query()
				q.Set("status", status)
				u.RawQuery = q.Encode()
				http.Redirect(w, r, u.String(), http.StatusSeeOther)
				return
			}
		}
		// Without a page of the tenant's: a short page for a browser,
		// the route's JSON answers for anything else.
		if !strings.Contains(r.Header.Get("Accept"), "text/html") {
			if err != nil {
				e.Fail(w, r, err)
				return
			}
			wire.WriteJSON(w, http.StatusOK, verified{Status: status})
			return
		}
		page := struct{ Title, Text string }{"Email address confirmed", "Thank you: your email address is confirmed. You can close this page."}
		code := http.StatusOK
		if err != nil {
			page = struct{ Title, Text string }{"This link does not work", "The link is invalid, expired or was already used. Ask for a new verification mail."}
			code = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		verifiedPage.Execute(w, page)
	})
}

// verified is the JSON answer of a followed verification link.
type verified struct {
	Status string `json:"status"`
}
