package appauth

import (
	"log/slog"
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
)

// Dialect is this dialect's name in metrics, events and sessions.
const Dialect = "app-auth"

// Deps are what the handlers need.
type Deps struct {
	Service *identity.Service
	Clients *wire.ClientResolver
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Routes lists the dialect's routes as ServeMux patterns.
var Routes = []string{
	"POST /api/v1/{app_id}/auth/login",
	"POST /api/v1/{app_id}/auth/refresh",
	"POST /api/v1/{app_id}/auth/logout",
}

// Mount registers the dialect's routes on mux.
func Mount(mux *http.ServeMux, d Deps) {
	mux.Handle(Routes[0], handleLogin(d))
	mux.Handle(Routes[1], handleRefresh(d))
	mux.Handle(Routes[2], handleLogout(d))
}
