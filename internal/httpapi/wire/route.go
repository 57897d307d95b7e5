package wire

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchauth/latch/internal/identity"
)

// Route is one dialect route, as the dialect declares it and httpapi's
// routes.go mounts it.
type Route struct {
	Pattern string // ServeMux pattern: "POST /v3/accounts/login"
	// Action names the address limit the route counts against: "login",
	// "refresh" or "logout".
	Action string
	// Count records the route's outcomes (metrics.Metrics.Login, …); the
	// middleware counts the requests it refuses with it.
	Count   func(dialect, outcome string)
	Edge    *Edge
	Handler http.Handler
}

// Method is the route's method.
func (rt Route) Method() string { m, _, _ := strings.Cut(rt.Pattern, " "); return m }

// Path is the route's path, without the method.
func (rt Route) Path() string { _, p, _ := strings.Cut(rt.Pattern, " "); return p }

// Serve is the middleware every dialect route runs behind, applied in one
// place (httpapi's routes.go) so that no route can forget it. It builds
// the request's identity.Client (ClientOf), counts the request against the
// client address's limit before the body is read, so that a flood costs
// no parsing and no hashing, and adds the rate-limit and CORS headers to
// whatever the route answers. cors may be nil (no browser access).
func (rt Route) Serve(cors *CORS) http.Handler {
	e := rt.Edge
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{ResponseWriter: w, cors: cors, origin: r.Header.Get("Origin"), quotaHeaders: e.QuotaHeaders}
		x.client = e.Clients.Client(r, e.Dialect)
		x.client.Quota = &x.quota
		r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
		x.ctx = r.Context()
		if err := e.Auth.AdmitIP(r.Context(), rt.Action, x.client); err != nil {
			if rt.Count != nil {
				rt.Count(e.Dialect, Outcome(err))
			}
			e.Fail(x, r, err)
			return
		}
		rt.Handler.ServeHTTP(x, r)
	})
}

type exchangeKey struct{}

// exchange is one request to a dialect route: its client, what it has
// learnt about its tenant, and the writer that adds the headers every
// answer carries. One allocation holds all of it.
type exchange struct {
	http.ResponseWriter
	ctx          context.Context
	cors         *CORS
	origin       string
	client       identity.Client
	quota        identity.Quota
	quotaHeaders bool
	tenant       tenantNote
	wrote        bool
}

// tenantNote is the tenant a request turned out to be for, or how it
// names it (accounts-v3's accountId or accountAlias), for CORS.
type tenantNote struct {
	t         *identity.Tenant
	id, alias string
}

func (n tenantNote) known() bool { return n.t != nil || n.id != "" || n.alias != "" }

func exchangeOf(r *http.Request) *exchange {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return x
}

// ClientOf returns the client of a request that came through Route.Serve.
func ClientOf(r *http.Request) identity.Client {
	if x := exchangeOf(r); x != nil {
		return x.client
	}
	return identity.Client{}
}

// ForTenant notes the tenant the request is for, so that the answer's
// CORS headers follow that tenant's allowed origins.
func ForTenant(r *http.Request, t *identity.Tenant) {
	if x := exchangeOf(r); x != nil && t != nil {
		x.tenant = tenantNote{t: t}
	}
}

// ForTenantNamed notes how the request names its tenant when the dialect
// does not load it itself (accounts-v3 hands the id or alias to the login
// use case); the CORS check looks it up only when a browser origin needs it.
func ForTenantNamed(r *http.Request, id, alias string) {
	if x := exchangeOf(r); x != nil && x.tenant.t == nil {
		x.tenant = tenantNote{id: id, alias: alias}
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

func (x *exchange) WriteHeader(status int) {
	if !x.wrote {
		x.wrote = true
		x.headers()
	}
	x.ResponseWriter.WriteHeader(status)
}

func (x *exchange) Write(b []byte) (int, error) {
	if !x.wrote {
		x.WriteHeader(http.StatusOK)
	}
	return x.ResponseWriter.Write(b)
}

// headers adds, just before the status goes out, what depends on the
// whole request: the caller's rate-limit standing and CORS.
func (x *exchange) headers() {
	h := x.Header()
	if q := x.quota; x.quotaHeaders && !q.Limit.Off() {
		// As the reference API sends them: the limit's period (1m, 12h,
		// 1d), the requests left, and the UTC time at which the full
		// allowance is back.
		h.Set("X-Rate-Limit-Limit", q.Limit.PeriodString())
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(q.Remaining))
		h.Set("X-Rate-Limit-Reset", q.Reset.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	}
	if x.cors != nil {
		x.cors.answer(x.ctx, h, x.origin, x.tenant)
	}
}
