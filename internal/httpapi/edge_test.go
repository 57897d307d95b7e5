package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/internal/ratelimit"
)

// raw sends a request exactly as given (no redirect is followed, the path
// is not cleaned) and returns the answer.
func raw(t *testing.T, env *httpapitest.Env, method, path, body string, hdr ...string) *httpapitest.Response {
	t.Helper()
	req, err := http.NewRequest(method, env.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = path // sent verbatim as the request target
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &httpapitest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// shape tells which error shape a body has: "accounts-v3", "app-auth",
// "token-login", "problem", or "" for none.
func shape(r *httpapitest.Response) string {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return ""
	}
	switch {
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") && m["status"] != nil && m["code"] != nil:
		return "problem"
	case m["code"] != nil && m["message"] != nil:
		return "accounts-v3"
	case m["error"] != nil:
		if e, ok := m["error"].(map[string]any); ok && e["code"] != nil && e["message"] != nil {
			return "app-auth"
		}
	case m["Message"] != nil && m["StatusCode"] != nil:
		return "token-login"
	}
	return ""
}

// Ensure no path is ever redirected: dot segments (also percent-encoded)
// and empty segments are 404 in the shape of the prefix they are under,
// and a DELETE aimed at a user with ".." leaves the tenant alone (Go's
// ServeMux used to answer 307 to the tenant's URL, which Go's client
// followed with the same method and token).
func TestNoRedirects(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	admin := []string{"Authorization", "Bearer " + httpapitest.AdminToken}
	for _, tc := range []struct{ method, path, shape string }{
		{"DELETE", "/admin/v1/tenants/" + tid + "/users/..", "problem"},
		{"DELETE", "/admin/v1/tenants/" + tid + "/users/%2e%2E", "problem"},
		{"GET", "/admin/v1/tenants/" + tid + "/./", "problem"},
		{"GET", "/admin/v1//tenants", "problem"},
		{"GET", "/admin/v1/tenants/" + tid + "%00", "problem"},
		{"GET", "/admin/v1/tenants/%ff", "problem"},
		{"GET", "/metrics/./", "problem"},
		{"POST", "/v3/accounts/../accounts/login", "accounts-v3"},
		{"POST", "/v3//accounts/login", "accounts-v3"},
		{"POST", "/api/v1/" + tid + "/auth/./login", "app-auth"},
		{"POST", "/api/v1/Authentication/../Authentication/Login", "token-login"},
		{"POST", "/api/v1/authentication//login", "token-login"},
	} {
		r := raw(t, env, tc.method, tc.path, "", admin...)
		if r.Status != http.StatusNotFound || shape(r) != tc.shape {
			t.Errorf("%s %s: %d %s %s, want 404 in the %s shape", tc.method, tc.path, r.Status, r.Header.Get("Location"), r.Body, tc.shape)
		}
	}
	if r := env.Admin(t, "GET", "/admin/v1/tenants/"+tid, nil); r.Status != http.StatusOK {
		t.Fatalf("the tenant is gone: %d %s", r.Status, r.Body)
	}
}

// Ensure every 404 and 405 is JSON in the shape of the prefix's dialect
// (problem+json under /admin and elsewhere), a 405 lists the methods in
// Allow, and token-login's suppressResponseCodes holds there too.
func TestUnroutedShapes(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	for _, tc := range []struct {
		method, path string
		status       int
		shape, allow string
	}{
		{"GET", "/v3/accounts/login", 405, "accounts-v3", "POST, OPTIONS"},
		{"POST", "/v3/accounts/nope", 404, "accounts-v3", ""},
		{"POST", "/v3/accounts/login/", 404, "accounts-v3", ""},
		{"DELETE", "/api/v1/" + tid + "/auth/login", 405, "app-auth", "POST, OPTIONS"},
		{"POST", "/api/v1/" + tid + "/auth/nope", 404, "app-auth", ""},
		{"POST", "/api/v2/x", 404, "app-auth", ""},
		{"GET", "/api/v1/Authentication/Login", 405, "token-login", "POST, OPTIONS"},
		{"GET", "/API/V1/AUTHENTICATION/LOGIN", 405, "token-login", "POST, OPTIONS"},
		{"POST", "/api/v1/Authentication/Nope", 404, "token-login", ""},
		{"PUT", "/admin/v1/tenants", 405, "problem", "GET, HEAD, POST"},
		{"GET", "/admin/v1/nope", 404, "problem", ""},
		{"POST", "/healthz", 405, "problem", "GET, HEAD"},
		{"GET", "/nope", 404, "problem", ""},
		{"GET", "/", 404, "problem", ""},
	} {
		r := raw(t, env, tc.method, tc.path, "")
		if r.Status != tc.status || shape(r) != tc.shape || r.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q %s; want %d in the %s shape, Allow %q", tc.method, tc.path, r.Status, r.Header.Get("Allow"), r.Body, tc.status, tc.shape, tc.allow)
		}
	}
	r := raw(t, env, "GET", "/api/v1/Authentication/Login?suppressResponseCodes=true", "")
	if r.Status != http.StatusOK || shape(r) != "token-login" || !bytes.Contains(r.Body, []byte(`"StatusCode":405`)) {
		t.Errorf("suppressed 405: %d %s", r.Status, r.Body)
	}
	r = raw(t, env, "POST", "/api/v1/Authentication/Nope?suppressresponsecodes=TRUE", "")
	if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"StatusCode":404`)) {
		t.Errorf("suppressed 404: %d %s", r.Status, r.Body)
	}
}

// blockingStore holds GetTenantByAlias until the caller's context ends,
// then fails with the context's error, as a driver does when a query is
// cancelled.
type blockingStore struct {
	identity.Store
	entered chan struct{}
}

func (s *blockingStore) GetTenantByAlias(ctx context.Context, alias string) (*identity.Tenant, error) {
	if alias != "slow" {
		return s.Store.GetTenantByAlias(ctx, alias)
	}
	s.entered <- struct{}{}
	<-ctx.Done()
	return nil, identity.Internal(ctx.Err())
}

// Ensure a client that disconnects while its login is in the store is
// logged at info and counted as 499, never as an error or a 500.
func TestClientGoneIs499(t *testing.T) {
	base := httpapitest.New(t, httpapitest.CheapArgon)
	store := &blockingStore{Store: base.Store, entered: make(chan struct{}, 1)}
	logs := &httpapitest.Buffer{}
	mets := metrics.New()
	env := httpapitest.Start(t, httpapitest.Config{Argon: httpapitest.CheapArgon, Store: store,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Metrics: mets})

	ctx, cancel := context.WithCancel(context.Background())
	body := `{"accountAlias":"slow","email":"ada@example.com","password":"correct horse battery"}`
	req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/v3/accounts/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	select {
	case <-store.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the login never reached the store")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), `"status":499`) {
		if time.Now().After(deadline) {
			t.Fatalf("no 499 in the log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		json.Unmarshal([]byte(line), &l)
		if l["level"] == "ERROR" || l["level"] == "WARN" || l["status"] == 500.0 {
			t.Errorf("log line: %s", line)
		}
		if l["status"] == 499.0 && l["level"] != "INFO" {
			t.Errorf("499 logged at %v: %s", l["level"], line)
		}
	}
	r := env.Do(t, "GET", "/metrics", nil)
	if !bytes.Contains(r.Body, []byte(`code="499",route="POST /v3/accounts/login"`)) || bytes.Contains(r.Body, []byte(`code="5xx"`)) {
		t.Errorf("metrics:\n%s", grep(r.Body, "latch_http_request_duration_seconds_count"))
	}
	if !bytes.Contains(r.Body, []byte(`latch_logins_total{dialect="accounts-v3",outcome="cancelled"} 1`)) {
		t.Errorf("metrics:\n%s", grep(r.Body, "latch_logins_total"))
	}
}

func grep(b []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Ensure every dialect route is behind the address limit, counted before
// its body is read: past the limit each answers 429 in its own shape with
// Retry-After, whatever it was sent.
func TestEveryDialectRouteAdmitsByAddress(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	env.Service.Auth.Limiter = ratelimit.NewMemory(env.Now)
	env.Service.Auth.Config.IPLimit = ratelimit.Limit{Count: 1, Period: time.Hour}
	for i, tc := range []struct{ path, shape string }{
		{"/v3/accounts/login", "accounts-v3"},
		{"/v3/accounts/login-refresh-token", "accounts-v3"},
		{"/api/v1/" + tid + "/auth/login", "app-auth"},
		{"/api/v1/" + tid + "/auth/refresh", "app-auth"},
		{"/api/v1/" + tid + "/auth/logout", "app-auth"},
		{"/api/v1/Authentication/Login", "token-login"},
		{"/api/v1/Authentication/TokenLogin", "token-login"},
		{"/api/v1/Authentication/Logout", "token-login"},
	} {
		ip := "198.51.100." + string(rune('1'+i))
		first := env.Do(t, "POST", tc.path, "{not json", "X-Forwarded-For", ip)
		if first.Status == http.StatusTooManyRequests {
			t.Fatalf("%s: first request refused", tc.path)
		}
		r := env.Do(t, "POST", tc.path, "{not json", "X-Forwarded-For", ip)
		if r.Status != http.StatusTooManyRequests || shape(r) != tc.shape || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %s, want 429 in the %s shape with Retry-After", tc.path, r.Status, r.Body, tc.shape)
		}
	}
}
