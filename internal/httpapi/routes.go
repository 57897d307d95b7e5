package httpapi

import (
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/accountsv3"
	"github.com/latchauth/latch/internal/httpapi/appauth"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/metrics"
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

		"POST /admin/v1/tenants/{tid}/users":                  handleCreateUser(d),
		"GET /admin/v1/tenants/{tid}/users":                   handleListUsers(d),
		"GET /admin/v1/tenants/{tid}/users/{uid}":             handleGetUser(d),
		"PATCH /admin/v1/tenants/{tid}/users/{uid}":           handleUpdateUser(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}":          handleDeleteUser(d),
		"GET /admin/v1/tenants/{tid}/users/{uid}/sessions":    handleListSessions(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}/sessions": handleRevokeSessions(d),
		"DELETE /admin/v1/tenants/{tid}/users/{uid}/throttle": handleLiftThrottle(d),

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
	return map[string]http.Handler{
		"GET /healthz":               handleHealthz(),
		"GET /readyz":                handleReadyz(d),
		"GET /metrics":               d.Metrics.Handler(),
		"GET /.well-known/jwks.json": handleJWKS(d),
		"GET /openapi.json":          handleOpenAPI(d),
	}
}

// Routes returns every route pattern the server serves.
func Routes() []string {
	var out []string
	d := Deps{Metrics: metrics.New()}
	for p := range adminRoutes(d) {
		out = append(out, p)
	}
	for p := range publicRoutes(d) {
		out = append(out, p)
	}
	out = append(out, accountsv3.Routes...)
	out = append(out, appauth.Routes...)
	return append(out, tokenlogin.Routes...)
}

func addRoutes(mux *http.ServeMux, d Deps) {
	for p, h := range publicRoutes(d) {
		mux.Handle(p, h)
	}
	admin := requireAdmin(d.AdminToken)
	for p, h := range adminRoutes(d) {
		mux.Handle(p, admin(h))
	}
	accountsv3.Mount(mux, accountsv3.Deps{Service: d.Service, Clients: d.Clients, Metrics: d.Metrics, Logger: d.Logger})
	appauth.Mount(mux, appauth.Deps{Service: d.Service, Clients: d.Clients, Metrics: d.Metrics, Logger: d.Logger})
	tokenlogin.Mount(mux, tokenlogin.Deps{Service: d.Service, Clients: d.Clients, Metrics: d.Metrics, Logger: d.Logger})
}
