package wire

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// CORS headers of every allowed answer.
const (
	// CORSAllowHeaders are the request headers a browser app may send:
	// what the dialects read, beyond the CORS-safelisted ones.
	CORSAllowHeaders = "Content-Type, Authorization, APIKey, APIToken"
	// CORSExposeHeaders are the answer headers a browser app may read.
	CORSExposeHeaders = "X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Reset, Retry-After"
	// CORSMaxAge is how long a browser may reuse a preflight's answer, in
	// seconds: short, so that a removed origin stops working soon.
	CORSMaxAge = "600"
)

// TenantSource is what CORS reads of the tenants (identity.TenantStore).
type TenantSource interface {
	GetTenant(ctx context.Context, id string) (*identity.Tenant, error)
	GetTenantByAlias(ctx context.Context, alias string) (*identity.Tenant, error)
	ListTenants(ctx context.Context, p identity.Page) ([]*identity.Tenant, string, error)
}

// CORS decides which browser origins may call the dialect routes: those
// of the deployment (LATCH_CORS_ORIGINS) everywhere, and a tenant's own
// (its cors_origins setting) on that tenant's requests.
//
// A preflight carries no body, so for accounts-v3 (tenant in the body)
// and token-login (API key in a header) it cannot tell the tenant: a
// preflight is allowed for the deployment's origins and for any tenant's
// (a cached union, reloaded at most every UnionTTL). The real answer then
// carries Access-Control-Allow-Origin only when its own tenant (or the
// deployment) allows the origin, so a browser lets an app read only the
// answers of its tenant. An answer that fails before its tenant is known
// (bad JSON, a rate limit) is readable by every origin of the union, so
// that the app can show the error. Latch's dialects use no cookies and
// send no Access-Control-Allow-Credentials.
type CORS struct {
	Origins  map[string]bool // the deployment's, normalised by identity.ParseOrigin
	Tenants  TenantSource
	Logger   *slog.Logger
	UnionTTL time.Duration // default 10 s
	Now      func() time.Time

	mu       sync.Mutex
	union    map[string]bool
	loadedAt time.Time
	loading  bool
}

// NewCORS returns the CORS policy for the deployment's origins (already
// checked with identity.ParseOrigin) and the tenants in ts.
func NewCORS(origins []string, ts TenantSource, log *slog.Logger) *CORS {
	c := &CORS{Origins: map[string]bool{}, Tenants: ts, Logger: log}
	for _, o := range origins {
		c.Origins[o] = true
	}
	return c
}

// Preflight answers a route's OPTIONS request: 204, and for an allowed
// origin the CORS headers that let the browser send methods.
func (c *CORS) Preflight(methods string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Allow", "OPTIONS, "+methods)
		h.Set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		origin := r.Header.Get("Origin")
		if origin != "" && r.Header.Get("Access-Control-Request-Method") != "" && c.allowed(r.Context(), origin, tenantNote{}) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", CORSAllowHeaders)
			h.Set("Access-Control-Max-Age", CORSMaxAge)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// answer adds the CORS headers of a real answer.
func (c *CORS) answer(ctx context.Context, h http.Header, origin string, t tenantNote) {
	h.Add("Vary", "Origin")
	if origin == "" || !c.allowed(ctx, origin, t) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", CORSExposeHeaders)
}

// allowed reports whether origin may read an answer for tenant t (or, when
// t is unknown, any tenant's).
func (c *CORS) allowed(ctx context.Context, origin string, t tenantNote) bool {
	o := strings.ToLower(origin)
	if c.Origins[o] {
		return true
	}
	if c.Tenants == nil {
		return false
	}
	if t.known() {
		if tenant := c.lookup(ctx, t); tenant != nil {
			for _, a := range tenant.Settings.CORSOrigins {
				if a == o {
					return true
				}
			}
			return false
		}
	}
	return c.anyTenantAllows(ctx, o)
}

// lookup returns the noted tenant, loading it when only its name is
// known; nil when there is none.
func (c *CORS) lookup(ctx context.Context, t tenantNote) *identity.Tenant {
	if t.t != nil {
		return t.t
	}
	var tenant *identity.Tenant
	var err error
	if t.id != "" {
		tenant, err = c.Tenants.GetTenant(ctx, t.id)
	} else {
		tenant, err = c.Tenants.GetTenantByAlias(ctx, strings.ToLower(strings.TrimSpace(t.alias)))
	}
	if err != nil {
		return nil
	}
	return tenant
}

// anyTenantAllows reports whether some tenant allows origin, from a union
// of every tenant's origins that one caller at a time reloads when it is
// older than UnionTTL (the others answer from the old one meanwhile).
func (c *CORS) anyTenantAllows(ctx context.Context, origin string) bool {
	ttl := c.UnionTTL
	if ttl == 0 {
		ttl = 10 * time.Second
	}
	c.mu.Lock()
	stale := c.union == nil || c.now().Sub(c.loadedAt) >= ttl
	if !stale || (c.loading && c.union != nil) {
		ok := c.union[origin]
		c.mu.Unlock()
		return ok
	}
	c.loading = true
	c.mu.Unlock()

	union, err := c.loadUnion(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loading = false
	if err != nil {
		if ctx.Err() == nil && c.Logger != nil {
			c.Logger.WarnContext(ctx, "CORS: reading the tenants' origins failed", "err", err)
		}
		return c.union[origin]
	}
	c.union, c.loadedAt = union, c.now()
	return union[origin]
}

func (c *CORS) loadUnion(ctx context.Context) (map[string]bool, error) {
	union := map[string]bool{}
	p := identity.Page{Limit: 500}
	for {
		tenants, next, err := c.Tenants.ListTenants(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, t := range tenants {
			for _, o := range t.Settings.CORSOrigins {
				union[o] = true
			}
		}
		if next == "" {
			return union, nil
		}
		p.Cursor = next
	}
}

func (c *CORS) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
