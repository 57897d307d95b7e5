package tokenlogin

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
)

// Dialect is this dialect's name in metrics, events and sessions.
const Dialect = "token-login"

// Deps are what the handlers need.
type Deps struct {
	Service *identity.Service
	Clients *wire.ClientResolver
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// The canonical paths, as the reference writes them.
const (
	pathLogin      = "/api/v1/Authentication/Login"
	pathTokenLogin = "/api/v1/Authentication/TokenLogin"
	pathLogout     = "/api/v1/Authentication/Logout"
)

// Routes lists the dialect's routes as ServeMux patterns.
var Routes = []string{"POST " + pathLogin, "POST " + pathTokenLogin, "POST " + pathLogout}

// Mount registers the dialect's routes on mux.
func Mount(mux *http.ServeMux, d Deps) {
	mux.Handle(Routes[0], handleLogin(d))
	mux.Handle(Routes[1], handleTokenLogin(d))
	mux.Handle(Routes[2], handleLogout(d))
}

// CanonicalPaths lets the dialect's routes match case-insensitively, as
// ASP.NET routes do: a path equal to one of them but for case is rewritten
// to the canonical spelling before the mux sees it.
func CanonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path, "/")
		for _, c := range []string{pathLogin, pathTokenLogin, pathLogout} {
			if p != c && strings.EqualFold(p, c) {
				r.URL.Path, r.URL.RawPath = c, ""
				break
			}
		}
		next.ServeHTTP(w, r)
	})
}
