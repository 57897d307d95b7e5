package accountsv3_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/ratelimit"
)

// limited sets the fixture's limits, counted in memory on its clock.
func (f *fixture) limited(ip, account ratelimit.Limit) *fixture {
	f.Service.Auth.Limiter = ratelimit.NewMemory(f.Now)
	f.Service.Auth.Config.IPLimit, f.Service.Auth.Config.AccountLimit = ip, account
	return f
}

func (f *fixture) loginAs(t *testing.T, email, password, ip string) *httpapitest.Response {
	t.Helper()
	return f.login(t, map[string]any{"accountId": f.tenant, "email": email, "password": password}, "X-Forwarded-For", ip)
}

func wantRateHeaders(t *testing.T, r *httpapitest.Response, period string, remaining int) {
	t.Helper()
	h := r.Header
	if h.Get("X-Rate-Limit-Limit") != period || h.Get("X-Rate-Limit-Remaining") != strconv.Itoa(remaining) {
		t.Fatalf("X-Rate-Limit-Limit %q Remaining %q; want %q and %d", h.Get("X-Rate-Limit-Limit"), h.Get("X-Rate-Limit-Remaining"), period, remaining)
	}
	if _, err := time.Parse(time.RFC3339Nano, h.Get("X-Rate-Limit-Reset")); err != nil {
		t.Fatalf("X-Rate-Limit-Reset %q: %v", h.Get("X-Rate-Limit-Reset"), err)
	}
}

func retryAfter(t *testing.T, r *httpapitest.Response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	return n
}

// Ensure the per-address limit counts every request to a login route,
// malformed ones included (it runs before the body is read), answers 429
// RATE_LIMITED with Retry-After past it, and that the rate-limit headers
// go out on every answer. (The limits themselves are identity's stories.)
func TestIPLimit(t *testing.T) {
	f := setup(t).limited(ratelimit.Limit{Count: 4, Period: time.Minute}, ratelimit.Limit{})
	r := f.loginAs(t, "ada@example.com", pw, "198.51.100.7")
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	wantRateHeaders(t, r, "1m", 3)
	r = f.Do(t, "POST", "/v3/accounts/login", `{"email": `, "X-Forwarded-For", "198.51.100.7")
	wantError(t, r, http.StatusBadRequest, "INVALID_JSON")
	wantRateHeaders(t, r, "1m", 2)
	f.loginAs(t, "ada@example.com", "wrong password", "198.51.100.7")
	f.loginAs(t, "nobody@example.com", "wrong password", "198.51.100.7")
	r = f.loginAs(t, "ada@example.com", pw, "198.51.100.7")
	wantError(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	wantRateHeaders(t, r, "1m", 0)
	if ra := retryAfter(t, r); ra != 15 {
		t.Fatalf("Retry-After %d, want 15 (one request per 15 s)", ra)
	}
}

// Ensure a refusal by the account's failure ceiling is a 429 with
// Retry-After whose body is the same for an unknown email, and that the
// admin's lift answers 204 and lets the owner in.
func TestAccountLimit(t *testing.T) {
	f := setup(t).limited(ratelimit.Limit{}, ratelimit.Limit{Count: 3, Period: time.Minute})
	for i, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"} {
		r := f.loginAs(t, "ada@example.com", "wrong password", ip)
		u := f.loginAs(t, "ghost@example.com", "wrong password", ip)
		if r.Status != u.Status || !bytes.Equal(r.Body, u.Body) {
			t.Fatalf("attempt %d: known %d %s, unknown %d %s", i, r.Status, r.Body, u.Status, u.Body)
		}
		if i == 3 {
			wantError(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
			retryAfter(t, u)
		}
	}
	if r := f.Admin(t, "DELETE", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user+"/throttle", nil); r.Status != http.StatusNoContent {
		t.Fatalf("lift: %d %s", r.Status, r.Body)
	}
	if r := f.loginAs(t, "ada@example.com", pw, "203.0.113.9"); r.Status != http.StatusOK {
		t.Fatalf("after lift: %d %s", r.Status, r.Body)
	}
}

// Ensure the delay after failed logins is a 429 RATE_LIMITED whose
// Retry-After is the delay.
func TestProgressiveThrottle(t *testing.T) {
	f := setup(t).limited(ratelimit.Limit{}, ratelimit.Limit{})
	const ip = "192.0.2.50"
	for range identity.FreeFailures {
		wantError(t, f.loginAs(t, "ada@example.com", "wrong password", ip), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	r := f.loginAs(t, "ada@example.com", pw, ip)
	wantError(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	if ra := retryAfter(t, r); ra != 1 {
		t.Fatalf("first delay %d s, want 1", ra)
	}
}

// Ensure refreshes are limited per address and per session, with headers.
func TestRefreshLimits(t *testing.T) {
	f := setup(t)
	_, tok := f.mustLogin(t)
	f.limited(ratelimit.Limit{Count: 3, Period: time.Minute}, ratelimit.Limit{})
	for i := range 3 {
		r := f.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": tok}, "X-Forwarded-For", "192.0.2.1")
		if r.Status != http.StatusOK {
			t.Fatalf("refresh %d: %d %s", i, r.Status, r.Body)
		}
		wantRateHeaders(t, r, "1m", 2-i)
		tok = r.JSON(t)["refreshToken"].(string)
	}
	// From another address the session's own limit (the same rate) binds.
	r := f.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": tok}, "X-Forwarded-For", "192.0.2.2")
	wantError(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	retryAfter(t, r)
}

// Ensure the rate-limit headers of a refusal by a tenant's account limit
// show the caller's own per-address budget, never the account's, and a
// limit that does not parse is a 400 naming the setting.
func TestTenantLimitOverride(t *testing.T) {
	f := setup(t).limited(ratelimit.Limit{Count: 300, Period: time.Minute}, ratelimit.Limit{Count: 100, Period: time.Minute})
	r := f.Admin(t, "PATCH", "/admin/v1/tenants/"+f.tenant, map[string]any{"settings": map[string]any{"rate_limit_account": "1/h"}})
	if r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	f.loginAs(t, "ada@example.com", "wrong password", "192.0.2.1")
	r = f.loginAs(t, "ada@example.com", pw, "192.0.2.2")
	wantError(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	wantRateHeaders(t, r, "1m", 299)
	bad := f.Admin(t, "PATCH", "/admin/v1/tenants/"+f.tenant, map[string]any{"settings": map[string]any{"rate_limit_account": "lots"}})
	if bad.Status != http.StatusBadRequest || !bytes.Contains(bad.Body, []byte("rate_limit_account")) {
		t.Fatalf("bad override: %d %s", bad.Status, bad.Body)
	}
}
