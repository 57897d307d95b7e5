package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/latchauth/latch/internal/console"
	"github.com/latchauth/latch/internal/httpapi/accountsv3"
	"github.com/latchauth/latch/internal/httpapi/appauth"
	"github.com/latchauth/latch/internal/httpapi/selfservice"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/webhook"
)

// adminRoutes is the admin API, pattern → handler maker. Listed here in
// full so that the API surface can be read in one place (and the OpenAPI
// test can check the document covers it).
func adminRoutes(d Deps) map[string]http.Handler {
	return map[string]http.Handler{
		"POST /admin/v1/tenants":         handleCreateTenant(d),
		"GET /admin/v1/tenants":          handleListTenants(d),
		"GET /admin/v1/tenants/{tid}":    handleGetTenant(d),
		"PATCH /admin/v1/tenants/{tid}":  handleUpdateTenant(d),
		"DELETE /admin/v1/tenants/{tid}": handleDeleteTenant(d),

		"POST /admin/v1/tenants/{tid}/api-keys":         handleCreateAPIKey(d),
		"GET /admin/v1/tenants/{tid}/api-keys":          handleListAPIKeys(d),
		"DELETE /admin/v1/tenants/{tid}/api-keys/{kid}": handleRevokeAPIKey(d),

		"POST /admin/v1/tenants/{tid}/users":                        handleCreateUser(d),
		"GET /admin/v1/tenants/{tid}/users":                         handleListUsers(d),
		"GET /admin/v1/tenants/{tid}/users/{uid}":                   handleGetUser(d),
		"PATCH /admin/v1/tenants/{tid}/users/{uid}":                 handleUpdateUser(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}":                handleDeleteUser(d),
		"GET /admin/v1/tenants/{tid}/users/{uid}/sessions":          handleListSessions(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}/sessions":       handleRevokeSessions(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}/sessions/{sid}": handleRevokeSession(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}/throttle":       handleLiftThrottle(d),

		"POST /admin/v1/tenants/{tid}/users/{uid}/password-reset-token":     handleIssueAccountToken(d, true),
		"POST /admin/v1/tenants/{tid}/users/{uid}/email-verification-token": handleIssueAccountToken(d, false),

		"GET /admin/v1/tenants/{tid}/users/{uid}/totp":                 handleGetTOTP(d),
		"POST /admin/v1/tenants/{tid}/users/{uid}/totp":                handleBeginTOTP(d),
		"POST /admin/v1/tenants/{tid}/users/{uid}/totp/confirm":        handleConfirmTOTP(d),
		"POST /admin/v1/tenants/{tid}/users/{uid}/totp/recovery-codes": handleRegenerateRecoveryCodes(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}/totp":              handleDisableTOTP(d),

		"POST /admin/v1/tenants/{tid}/organisations":         handleCreateOrganisation(d),
		"GET /admin/v1/tenants/{tid}/organisations":          handleListOrganisations(d),
		"GET /admin/v1/tenants/{tid}/organisations/{oid}":    handleGetOrganisation(d),
		"PATCH /admin/v1/tenants/{tid}/organisations/{oid}":  handleUpdateOrganisation(d),
		"DELETE /admin/v1/tenants/{tid}/organisations/{oid}": handleDeleteOrganisation(d),

		"POST /admin/v1/tenants/{tid}/webhooks":                 handleCreateWebhook(d),
		"GET /admin/v1/tenants/{tid}/webhooks":                  handleListWebhooks(d),
		"GET /admin/v1/tenants/{tid}/webhooks/{wid}":            handleGetWebhook(d),
		"PATCH /admin/v1/tenants/{tid}/webhooks/{wid}":          handleUpdateWebhook(d),
		"DELETE /admin/v1/tenants/{tid}/webhooks/{wid}":         handleDeleteWebhook(d),
		"GET /admin/v1/tenants/{tid}/webhooks/{wid}/deliveries": handleListDeliveries(d),
		"POST /admin/v1/tenants/{tid}/webhooks/{wid}/test":      handleTestWebhook(d),

		"GET /admin/v1/tenants/{tid}/events": handleListEvents(d),
	}
}

// publicRoutes are the unauthenticated operational routes.
func publicRoutes(d Deps) map[string]http.Handler {
	routes := map[string]http.Handler{
		"GET /healthz":               handleHealthz(),
		"GET /readyz":                handleReadyz(d),
		"GET /metrics":               d.Metrics.Handler(),
		"GET /.well-known/jwks.json": handleJWKS(d),
		"GET /openapi.json":          handleOpenAPI(d),
	}
	if d.MetricsElsewhere {
		delete(routes, "GET /metrics")
	}
	return routes
}

// dialectRoutes are the login dialects' routes.
func dialectRoutes(d Deps) []wire.Route {
	wd := wire.Deps{Clients: d.Clients, Metrics: d.Metrics, Logger: d.Logger}
	if d.Service != nil { // nil when only the patterns are wanted (the OpenAPI document)
		wd.Auth = d.Service.Auth
	}
	var self *identity.Self
	var accounts *identity.Accounts
	if d.Service != nil {
		self, accounts = d.Service.Self, d.Service.Accounts
	}
	return slices.Concat(
		accountsv3.Routes(wd), appauth.Routes(wd), tokenlogin.Routes(wd),
		selfservice.AccountRoutes(wd, accounts), selfservice.Routes(wd, self),
	)
}

func addRoutes(mux *http.ServeMux, d Deps, cors *wire.CORS) {
	for p, h := range publicRoutes(d) {
		mux.Handle(p, h)
	}
	admin := requireAdmin(d.AdminToken)
	for p, h := range adminRoutes(d) {
		mux.Handle(p, admin(h))
	}
	// The operator console exists only where the admin API does.
	if d.AdminToken != "" {
		mux.Handle(console.Prefix, console.New(console.Deps{Service: d.Service, Clients: d.Clients, Pinger: d.Webhooks,
			Samples: d.ConsoleSamples, NewSecret: webhook.NewSecret, Logger: d.Logger, Now: d.Service.Console.Now}))
	}
	// Every dialect route runs behind the same middleware, applied here
	// and nowhere else: the client, the address limit before the body is
	// read, and the rate-limit and CORS headers. Each answers its CORS
	// preflight.
	// preflight once per path, with every method it serves.
	methods := map[string][]string{}
	var paths []string
	for _, rt := range dialectRoutes(d) {
		mux.Handle(rt.Pattern, rt.Serve(cors))
		if methods[rt.Path()] == nil {
			paths = append(paths, rt.Path())
		}
		methods[rt.Path()] = append(methods[rt.Path()], rt.Method())
	}
	for _, p := range paths {
		mux.Handle("OPTIONS "+p, cors.Preflight(strings.Join(methods[p], ", ")))
	}
	mux.Handle("/", unrouted(mux))
}

// unrouted answers what no route takes: 405 with Allow when another
// method would be served, else 404, in the error shape of the dialect
// whose prefix the path is under (problem+json elsewhere).
func unrouted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusNotFound
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			status = http.StatusMethodNotAllowed
		}
		writeUnrouted(w, r, status)
	})
}

// allowedMethods lists the methods that a route serves on r's path.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host}
		if _, p := mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// writeUnrouted writes a 404 or 405 in the shape clients of r's path
// parse.
func writeUnrouted(w http.ResponseWriter, r *http.Request, status int) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, accountsv3.Prefix):
		accountsv3.WriteUnrouted(w, r, status)
	case tokenlogin.Owns(p):
		tokenlogin.WriteUnrouted(w, r, status)
	case strings.HasPrefix(p, appauth.Prefix):
		appauth.WriteUnrouted(w, r, status)
	case strings.HasPrefix(p, selfservice.Prefix+"/"):
		selfservice.WriteUnrouted(w, r, status)
	case status == http.StatusMethodNotAllowed:
		writeProblem(w, status, "method_not_allowed", r.Method+" is not allowed on "+p+"; see the Allow header", nil)
	default:
		writeProblem(w, status, "not_found", "there is no route "+p, nil)
	}
}
