package tokenlogin

import (
	"net/http"
	"strings"

	"github.com/latchauth/latch/internal/httpapi/wire"
)

// Dialect is this dialect's name in metrics, events and sessions.
const Dialect = "token-login"

// The canonical paths, as the reference writes them.
const (
	pathLogin      = "/api/v1/Authentication/Login"
	pathTokenLogin = "/api/v1/Authentication/TokenLogin"
	pathLogout     = "/api/v1/Authentication/Logout"
)

// Routes returns the dialect's routes, for httpapi to mount behind
// wire.Route.Serve.
func Routes(d wire.Deps) []wire.Route {
	e := d.Edge(Dialect, statuses, messages, render)
	return []wire.Route{
		{Pattern: "POST " + pathLogin, Action: "login", Count: d.Metrics.Login, Edge: e, Handler: handleLogin(e, d)},
		{Pattern: "POST " + pathTokenLogin, Action: "refresh", Count: d.Metrics.Refresh, Edge: e, Handler: handleTokenLogin(e, d)},
		{Pattern: "POST " + pathLogout, Action: "logout", Count: d.Metrics.Logout, Edge: e, Handler: handleLogout(e, d)},
	}
}

// Owns reports whether path is under the dialect's prefix
// (/api/v1/Authentication/, in any case): unrouted requests there are
// answered in the dialect's error shape.
func Owns(path string) bool {
	const prefix = "/api/v1/authentication"
	return len(path) >= len(prefix) && strings.EqualFold(path[:len(prefix)], prefix) &&
		(len(path) == len(prefix) || path[len(prefix)] == '/')
}

// WriteUnrouted answers a request under the prefix that no route takes:
// 404, or 405 when only the method is wrong (the caller sets Allow), with
// ASP.NET Web API's messages; suppressResponseCodes holds here too.
func WriteUnrouted(w http.ResponseWriter, r *http.Request, status int) {
	resp := ErrorResponse{Message: "No HTTP resource was found that matches the request URI '" + r.URL.Path + "'.", StatusCode: status}
	if status == http.StatusMethodNotAllowed {
		resp.Message = "The requested resource does not support http method '" + r.Method + "'."
	}
	writeError(w, r, resp)
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
