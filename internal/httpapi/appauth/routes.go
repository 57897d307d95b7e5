package appauth

import (
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/wire"
)

// Dialect is this dialect's name in metrics, events and sessions.
const Dialect = "app-auth"

// Prefix is the path prefix of the dialect: every unrouted request under
// it (but token-login's) is answered in the dialect's error shape.
const Prefix = "/api/"

// Routes returns the dialect's routes, for httpapi to mount behind
// wire.Route.Serve.
func Routes(d wire.Deps) []wire.Route {
	e := d.Edge(Dialect, statuses, messages, render)
	return []wire.Route{
		{Pattern: "POST /api/v1/{app_id}/auth/login", Action: "login", Count: d.Metrics.Login, Edge: e, Handler: handleLogin(e, d)},
		{Pattern: "POST /api/v1/{app_id}/auth/refresh", Action: "refresh", Count: d.Metrics.Refresh, Edge: e, Handler: handleRefresh(e, d)},
		{Pattern: "POST /api/v1/{app_id}/auth/logout", Action: "logout", Count: d.Metrics.Logout, Edge: e, Handler: handleLogout(e, d)},
	}
}

// WriteUnrouted answers a request under Prefix that no route takes: 404,
// or 405 when only the method is wrong (the caller sets Allow).
func WriteUnrouted(w http.ResponseWriter, r *http.Request, status int) {
	body := ErrorBody{Code: "not_found", Message: "there is no route " + r.URL.Path}
	if status == http.StatusMethodNotAllowed {
		body = ErrorBody{Code: "method_not_allowed", Message: r.Method + " is not allowed on " + r.URL.Path + "; see the Allow header"}
	}
	wire.WriteJSON(w, status, ErrorResponse{body})
}
