package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

const (
	deploymentOrigin = "https://app.example"
	tenantOrigin     = "https://a.example"
	otherOrigin      = "https://evil.example"
)

// corsEnv is a server with one deployment origin and two tenants: a
// allows tenantOrigin, b allows nothing of its own.
type corsEnv struct {
	*httpapitest.Env
	a, b, keyA, keyB string
}

func newCORSEnv(t *testing.T) *corsEnv {
	env := httpapitest.Start(t, httpapitest.Config{Argon: httpapitest.CheapArgon, CORSOrigins: []string{deploymentOrigin}})
	c := &corsEnv{Env: env, a: env.MustTenant(t, "a"), b: env.MustTenant(t, "b")}
	r := env.Admin(t, "PATCH", "/admin/v1/tenants/"+c.a, map[string]any{"settings": map[string]any{"cors_origins": []string{"HTTPS://A.Example/"}}})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"cors_origins":["`+tenantOrigin+`"]`) {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	for _, tid := range []string{c.a, c.b} {
		env.MustUser(t, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	}
	c.keyA = env.Admin(t, "POST", "/admin/v1/tenants/"+c.a+"/api-keys", map[string]any{"name": "k"}).JSON(t)["key"].(string)
	c.keyB = env.Admin(t, "POST", "/admin/v1/tenants/"+c.b+"/api-keys", map[string]any{"name": "k"}).JSON(t)["key"].(string)
	return c
}

func wantCORS(t *testing.T, what string, r *httpapitest.Response, origin string) {
	t.Helper()
	got := r.Header.Get("Access-Control-Allow-Origin")
	if got != origin {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q (status %d)", what, got, origin, r.Status)
	}
	if origin != "" && !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Rate-Limit-Remaining") {
		t.Errorf("%s: Access-Control-Expose-Headers %q", what, r.Header.Get("Access-Control-Expose-Headers"))
	}
	if r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("%s: credentials allowed", what)
	}
}

// Ensure a preflight on every dialect route is 204 with the CORS headers
// for the deployment's origins and any tenant's, never "*", and without
// them for other origins.
func TestCORSPreflight(t *testing.T) {
	c := newCORSEnv(t)
	for _, path := range []string{"/v3/accounts/login", "/v3/accounts/login-refresh-token", "/api/v1/" + c.a + "/auth/login",
		"/api/v1/" + c.b + "/auth/refresh", "/api/v1/" + c.a + "/auth/logout", "/api/v1/Authentication/Login",
		"/api/v1/authentication/tokenlogin", "/api/v1/Authentication/Logout"} {
		for _, origin := range []string{deploymentOrigin, tenantOrigin, otherOrigin} {
			r := c.Do(t, "OPTIONS", path, nil, "Origin", origin, "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "content-type,apikey")
			if r.Status != http.StatusNoContent || !strings.Contains(r.Header.Get("Vary"), "Origin") {
				t.Fatalf("%s from %s: %d Vary %q", path, origin, r.Status, r.Header.Get("Vary"))
			}
			h := r.Header
			if origin == otherOrigin {
				if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Methods") != "" {
					t.Errorf("%s from %s: CORS headers %v", path, origin, h)
				}
				continue
			}
			if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Methods") != "POST" ||
				h.Get("Access-Control-Max-Age") == "" {
				t.Errorf("%s from %s: %v", path, origin, h)
			}
			for _, want := range []string{"Content-Type", "Authorization", "APIKey", "APIToken"} {
				if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
					t.Errorf("%s: Access-Control-Allow-Headers %q lacks %s", path, h.Get("Access-Control-Allow-Headers"), want)
				}
			}
		}
	}
}

// Ensure real answers carry Access-Control-Allow-Origin for the deployment's
// origins, for a tenant's own origin on that tenant's requests (failures
// included), for any tenant's origin when the request fails before naming
// a tenant, and never for another tenant's or an unknown origin.
func TestCORSAnswers(t *testing.T) {
	c := newCORSEnv(t)
	creds := func(extra map[string]any) map[string]any {
		m := map[string]any{"email": "ada@example.com", "password": "correct horse battery"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	v3 := func(origin string, body any) *httpapitest.Response {
		return c.Do(t, "POST", "/v3/accounts/login", body, "Origin", origin)
	}
	wantCORS(t, "v3 deployment origin", v3(deploymentOrigin, creds(map[string]any{"accountId": c.b})), deploymentOrigin)
	r := v3(tenantOrigin, creds(map[string]any{"accountId": c.a}))
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	wantCORS(t, "v3 tenant origin", r, tenantOrigin)
	wantCORS(t, "v3 tenant origin by alias, wrong password", v3(tenantOrigin, creds(map[string]any{"accountAlias": "A", "password": "wrong password"})), tenantOrigin)
	wantCORS(t, "v3 other tenant", v3(tenantOrigin, creds(map[string]any{"accountId": c.b})), "")
	wantCORS(t, "v3 unknown origin", v3(otherOrigin, creds(map[string]any{"accountId": c.a})), "")
	wantCORS(t, "v3 bad JSON, tenant unknown", v3(tenantOrigin, "{nope"), tenantOrigin)
	wantCORS(t, "v3 refresh", c.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": r.JSON(t)["refreshToken"]},
		"Origin", tenantOrigin), tenantOrigin)

	app := func(tid, origin string) *httpapitest.Response {
		return c.Do(t, "POST", "/api/v1/"+tid+"/auth/login", creds(nil), "Origin", origin)
	}
	wantCORS(t, "app-auth own tenant", app(c.a, tenantOrigin), tenantOrigin)
	wantCORS(t, "app-auth other tenant", app(c.b, tenantOrigin), "")
	wantCORS(t, "app-auth deployment origin", app(c.b, deploymentOrigin), deploymentOrigin)

	tl := func(key, origin string) *httpapitest.Response {
		return c.Do(t, "POST", "/api/v1/Authentication/Login?APIKey="+url.QueryEscape(key), map[string]any{"userName": "ada@example.com",
			"password": "correct horse battery"}, "Origin", origin)
	}
	wantCORS(t, "token-login own tenant", tl(c.keyA, tenantOrigin), tenantOrigin)
	wantCORS(t, "token-login other tenant", tl(c.keyB, tenantOrigin), "")

	// The admin API, the operations routes and unrouted paths never answer CORS.
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/v1/tenants"}, {"OPTIONS", "/admin/v1/tenants"}, {"GET", "/metrics"}, {"OPTIONS", "/metrics"},
		{"GET", "/healthz"}, {"GET", "/.well-known/jwks.json"}, {"POST", "/v3/nope"},
	} {
		r := c.Do(t, tc.method, tc.path, nil, "Origin", deploymentOrigin, "Access-Control-Request-Method", "GET",
			"Authorization", "Bearer "+httpapitest.AdminToken)
		if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("%s %s: CORS headers on a non-dialect route: %v", tc.method, tc.path, r.Header)
		}
	}
}

// Ensure a tenant's cors_origins must be exact origins.
func TestCORSOriginsValidated(t *testing.T) {
	c := newCORSEnv(t)
	for _, bad := range []string{"*", "null", "https://a.example/path", "ftp://a.example", "a.example", "https://a.example?x=1", "https://u@a.example"} {
		r := c.Admin(t, "PATCH", "/admin/v1/tenants/"+c.b, map[string]any{"settings": map[string]any{"cors_origins": []string{bad}}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "settings.cors_origins") {
			t.Errorf("%q: %d %s", bad, r.Status, r.Body)
		}
	}
}
