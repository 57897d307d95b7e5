package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/console"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
)

// JWKSource publishes the access-token public keys (token.Keyring).
type JWKSource interface {
	JWKS() (body []byte, etag string)
}

// Deps are the server's dependencies, all required but Logger.
type Deps struct {
	Service    *identity.Service
	Store      identity.Store
	Keys       JWKSource
	Metrics    *metrics.Metrics
	Clients    *wire.ClientResolver
	AdminToken string        // "" disables the admin API
	Webhooks   WebhookPinger // nil when webhook delivery is not running
	// CORSOrigins are the browser origins every tenant's dialect routes
	// allow (LATCH_CORS_ORIGINS), checked by identity.ParseOrigin.
	CORSOrigins []string
	Hashing     Saturation // the password-hashing pool; nil: no shedding at the edge
	Version     string
	Logger      *slog.Logger
	// MetricsElsewhere leaves /metrics out of this handler: it is served
	// on a listener of its own (LATCH_METRICS_LISTEN).
	MetricsElsewhere bool
	// ConsoleSamples feeds the console overview's chart; nil: no chart.
	ConsoleSamples *console.Sampler
}

// WebhookPinger sends a test event to a webhook endpoint (package webhook).
type WebhookPinger interface {
	Ping(ctx context.Context, w *identity.WebhookEndpoint) identity.DeliveryAttempt
}

// NewServer returns the complete HTTP handler.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Clients == nil {
		d.Clients = &wire.ClientResolver{}
	}
	var tenants wire.TenantSource
	if d.Store != nil {
		tenants = d.Store
	}
	mux := http.NewServeMux()
	addRoutes(mux, d, wire.NewCORS(d.CORSOrigins, tenants, d.Logger))
	return recoverer(d.Logger, shed(d.Hashing, d.Metrics, d.Logger, observe(d.Metrics, d.Logger, wellFormed(tokenlogin.CanonicalPaths(mux)))))
}

// wellFormed answers 404 for paths that no route can take and that Go's
// ServeMux would otherwise redirect: dot segments ("/a/../b", also as
// %2e) and empty ones ("//"). A redirect is dangerous here: a client
// follows a 307 with the same method and credentials, so
// DELETE /admin/v1/tenants/{tid}/users/.. became DELETE of the tenant.
// Paths whose decoded form holds a NUL, another control character or
// invalid UTF-8 are 404 too: no id or route has one, and no store
// should see one.
func wellFormed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanPath(r.URL) {
			writeUnrouted(w, r, http.StatusNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func cleanPath(u *url.URL) bool {
	p := u.EscapedPath()
	if p == "" {
		return true
	}
	if strings.Contains(p, "//") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if strings.Contains(seg, ".") || strings.Contains(seg, "%") {
			s, err := url.PathUnescape(seg)
			if err != nil || s == "." || s == ".." {
				return false
			}
		}
	}
	for _, c := range []byte(u.Path) {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(u.Path)
}
