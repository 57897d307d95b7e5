package accountsv3

import (
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/wire"
)

// Dialect is this dialect's name in metrics, events and sessions.
const Dialect = "accounts-v3"

// Prefix is the path prefix of the dialect: every unrouted request under
// it is answered in the dialect's error shape.
const Prefix = "/v3/"

// Routes returns the dialect's routes, for httpapi to mount behind
// wire.Route.Serve.
func Routes(d wire.Deps) []wire.Route {
	e := d.Edge(Dialect, statuses, messages, render)
	e.QuotaHeaders = true // the reference API sends X-Rate-Limit-*
	return []wire.Route{
		{Pattern: "POST /v3/accounts/login", Action: "login", Count: d.Metrics.Login, Edge: e, Handler: handleLogin(e, d)},
		{Pattern: "POST /v3/accounts/login-refresh-token", Action: "refresh", Count: d.Metrics.Refresh, Edge: e, Handler: handleRefresh(e, d)},
	}
}

// WriteUnrouted answers a request under Prefix that no route takes: 404,
// or 405 when only the method is wrong (the caller sets Allow).
func WriteUnrouted(w http.ResponseWriter, r *http.Request, status int) {
	body := ErrorResponse{Code: "NOT_FOUND", Message: "there is no route " + r.URL.Path}
	if status == http.StatusMethodNotAllowed {
		body = ErrorResponse{Code: "METHOD_NOT_ALLOWED", Message: r.Method + " is not allowed on " + r.URL.Path + "; see the Allow header"}
	}
	wire.WriteJSON(w, status, body)
}
