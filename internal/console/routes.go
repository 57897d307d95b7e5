package console

import "net/http"

// routes lists every console page and action in one place. Pages are
// GET; every state change is a POST carrying the session's CSRF token.
func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /console/static/{file}", handleStatic())
	m.HandleFunc("GET /console/{$}", c.handleHome)
	m.HandleFunc("POST /console/login", c.handleLogin)
	m.Handle("POST /console/logout", c.signedIn(c.handleLogout))

	m.Handle("GET /console/tenants", c.signedIn(c.tenantsPage))
	m.Handle("POST /console/tenants", c.signedIn(c.createTenant))
	m.Handle("GET /console/tenants/{tid}", c.signedIn(c.tenantPage))
	m.Handle("POST /console/tenants/{tid}/settings", c.signedIn(c.updateTenant))

	m.Handle("GET /console/tenants/{tid}/users", c.signedIn(c.usersPage))
	m.Handle("POST /console/tenants/{tid}/users", c.signedIn(c.createUser))
	m.Handle("GET /console/tenants/{tid}/users/{uid}", c.signedIn(c.userPage))
	m.Handle("POST /console/tenants/{tid}/users/{uid}/status", c.signedIn(c.setUserStatus))
	m.Handle("POST /console/tenants/{tid}/users/{uid}/totp/reset", c.signedIn(c.resetTOTP))
	m.Handle("POST /console/tenants/{tid}/users/{uid}/throttle/lift", c.signedIn(c.liftThrottle))
	m.Handle("POST /console/tenants/{tid}/users/{uid}/sessions/revoke", c.signedIn(c.revokeSessions))

	m.Handle("GET /console/tenants/{tid}/api-keys", c.signedIn(c.apiKeysPage))
	m.Handle("POST /console/tenants/{tid}/api-keys", c.signedIn(c.createAPIKey))
	m.Handle("POST /console/tenants/{tid}/api-keys/{kid}/revoke", c.signedIn(c.revokeAPIKey))

	m.Handle("GET /console/tenants/{tid}/webhooks", c.signedIn(c.webhooksPage))
	m.Handle("POST /console/tenants/{tid}/webhooks", c.signedIn(c.createWebhook))
	m.Handle("GET /console/tenants/{tid}/webhooks/{wid}", c.signedIn(c.webhookPage))
	m.Handle("POST /console/tenants/{tid}/webhooks/{wid}/enable", c.signedIn(c.enableWebhook))
	m.Handle("POST /console/tenants/{tid}/webhooks/{wid}/test", c.signedIn(c.testWebhook))
	m.Handle("POST /console/tenants/{tid}/webhooks/{wid}/deliveries/{eid}/redeliver", c.signedIn(c.redeliver))

	m.Handle("GET /console/tenants/{tid}/events", c.signedIn(c.eventsPage))

	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, c.current(r), http.StatusNotFound, "There is no console page "+r.URL.Path+".")
	})
}
