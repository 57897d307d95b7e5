package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// Pinger sends a test event to a webhook endpoint now (webhook.Dispatcher).
type Pinger interface {
	Ping(ctx context.Context, w *identity.WebhookEndpoint) identity.DeliveryAttempt
}

// Deps are the console's dependencies; Service is required. Operators
// sign in through Service.Console, with its admin token.
type Deps struct {
	Service *identity.Service
	// Clients tells the client address (rate limits, the log) and which
	// peers are trusted proxies whose X-Forwarded-Proto is believed.
	Clients *wire.ClientResolver
	Pinger  Pinger   // nil: webhook delivery does not run in this process
	Samples *Sampler // nil: the overview has no chart
	// NewSecret makes a webhook endpoint's secret (webhook.NewSecret).
	NewSecret func() string
	Logger    *slog.Logger
	Now       func() time.Time // the chart's clock; nil: time.Now
}

// CookieName is the console session's cookie.
const CookieName = "latch_console"

// Prefix is where the console is mounted.
const Prefix = "/console/"

// maxForm bounds a form body, as wire.MaxBody bounds JSON bodies.
const maxForm = 64 << 10

// Console serves the console. Build it with New.
type Console struct {
	d     Deps
	pages *pages
	mux   *http.ServeMux
}

// New returns the console handler for everything under Prefix.
func New(d Deps) *Console {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Clients == nil {
		d.Clients = &wire.ClientResolver{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	c := &Console{d: d, pages: loadPages(d.Now)}
	c.mux = http.NewServeMux()
	c.routes()
	return c
}

// ServeHTTP sets the headers every console answer carries and routes.
// The policy allows no inline script or style at all: the pages use one
// stylesheet and one small script, both served from Prefix.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	c.mux.ServeHTTP(w, r)
}

// session is a signed-in request's console session.
type session struct {
	id   string
	csrf string
}

// csrfToken is the session's CSRF token: an HMAC keyed with the session id
// (which only the operator's cookie holds), so that it needs no storage
// and a page of another site can neither read nor compute it.
func csrfToken(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("latch console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// current returns the request's live console session, or nil.
func (c *Console) current(r *http.Request) *session {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil
	}
	if _, err := c.d.Service.Console.Session(r.Context(), ck.Value); err != nil {
		if identity.ErrorCode(err) != identity.ETOKENINVALID {
			c.d.Logger.ErrorContext(r.Context(), "console session", "err", err)
		}
		return nil
	}
	return &session{id: ck.Value, csrf: csrfToken(ck.Value)}
}

// handler is a console page or action: it runs with the operator's
// session, on a context that marks admin actions as the console's.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// signedIn wraps h: without a live session, a page redirects to the
// sign-in form (which brings the operator back), and an action is 403.
// Every POST must carry the session's CSRF token in the form field csrf,
// else it is 403 and nothing happens. Path ids that cannot be ids are 404
// before h runs.
func (c *Console) signedIn(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		s := c.current(r)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, nil, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if s == nil {
				c.fail(w, r, nil, http.StatusForbidden, "Your console session has ended. Sign in again, then repeat the action.")
				return
			}
			if got := r.PostForm.Get("csrf"); !hmac.Equal([]byte(got), []byte(s.csrf)) {
				c.fail(w, r, s, http.StatusForbidden, "This form is out of date or did not come from the console (missing or wrong CSRF token). Reload the page and try again.")
				return
			}
		} else if s == nil {
			http.Redirect(w, r, Prefix+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		for _, name := range []string{"tid", "uid", "kid", "wid", "eid", "sid"} {
			if v := r.PathValue(name); v != "" && !identity.WellFormedID(v) {
				c.fail(w, r, s, http.StatusNotFound, "There is no such "+idNames[name]+".")
				return
			}
		}
		h(w, r.WithContext(identity.Via(r.Context(), "console")), s)
	})
}

var idNames = map[string]string{"tid": "tenant", "uid": "user", "kid": "API key", "wid": "webhook endpoint", "eid": "event", "sid": "session"}

// secure reports whether the operator reached latch over TLS, directly or
// through a trusted proxy that says so: only then may the cookie demand
// it (a Secure cookie set over plain HTTP would never come back).
func (c *Console) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	if !strings.EqualFold(strings.TrimSpace(proto), "https") {
		return false
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := peer.Addr().Unmap()
	for _, p := range c.d.Clients.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// safeNext is where to go after signing in: a console path given by the
// sign-in link, or the overview. Anything else (another host, a
// scheme-relative URL) is ignored.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, Prefix) ||
		strings.Contains(next, "//") || strings.ContainsAny(next, "\\\r\n\t") || strings.Contains(u.Path, "/.") {
		return Prefix
	}
	return next
}
