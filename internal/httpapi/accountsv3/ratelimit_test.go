package accountsv3_test

import (
	"bytes"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/ratelimit/redisrate"
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
// malformed ones included, answers 429 with Retry-After past it, and that
// the rate-limit headers go out on every answer.
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
	// Another address is unaffected; refresh has its own bucket.
	if r := f.loginAs(t, "ada@example.com", pw, "198.51.100.8"); r.Status != http.StatusOK {
		t.Fatalf("other address: %d", r.Status)
	}
	f.Advance(15 * time.Second)
	if r := f.loginAs(t, "ada@example.com", pw, "198.51.100.7"); r.Status != http.StatusOK {
		t.Fatalf("after 15 s: %d %s", r.Status, r.Body)
	}
}

// Ensure the per-account limit holds across addresses, treats unknown
// emails exactly like known ones, and records account.locked once.
func TestAccountLimit(t *testing.T) {
	f := setup(t).limited(ratelimit.Limit{}, ratelimit.Limit{Count: 3, Period: time.Minute})
	ips := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"}
	var known, unknown [][]byte
	for i, ip := range ips {
		r := f.loginAs(t, "ada@example.com", "wrong password", ip)
		u := f.loginAs(t, "ghost@example.com", "wrong password", ip)
		if r.Status != u.Status {
			t.Fatalf("attempt %d: known %d, unknown %d", i, r.Status, u.Status)
		}
		known, unknown = append(known, r.Body), append(unknown, u.Body)
		if i >= 3 {
			wantError(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
			retryAfter(t, u)
		}
	}
	for i := range known {
		if !bytes.Equal(known[i], unknown[i]) {
			t.Fatalf("attempt %d: bodies differ:\n%s\n%s", i, known[i], unknown[i])
		}
	}
	// The right password does not get through either while limited.
	wantError(t, f.loginAs(t, "ada@example.com", pw, "203.0.113.9"), http.StatusTooManyRequests, "RATE_LIMITED")
	locked := f.eventsOf(t, "account.locked")
	if len(locked) != 1 || locked[0]["reason"] != "rate_limit" {
		t.Fatalf("account.locked events: %v", locked)
	}
	// The admin lifts it.
	if r := f.Admin(t, "DELETE", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user+"/throttle", nil); r.Status != http.StatusNoContent {
		t.Fatalf("lift: %d %s", r.Status, r.Body)
	}
	if r := f.loginAs(t, "ada@example.com", pw, "203.0.113.9"); r.Status != http.StatusOK {
		t.Fatalf("after lift: %d %s", r.Status, r.Body)
	}
}

// Ensure failed logins from one address cost growing delays after five,
// never a lockout: the delay passes, another address is unaffected, a
// good login ends the streak, and the admin can lift it.
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
	if r := f.loginAs(t, "ada@example.com", pw, "192.0.2.51"); r.Status != http.StatusOK {
		t.Fatalf("another address was throttled: %d", r.Status)
	}
	f.Advance(time.Second)
	wantError(t, f.loginAs(t, "ada@example.com", "wrong password", ip), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	r = f.loginAs(t, "ada@example.com", pw, ip)
	if ra := retryAfter(t, r); ra != 2 {
		t.Fatalf("second delay %d s, want 2", ra)
	}
	if locked := f.eventsOf(t, "account.locked"); len(locked) != 1 || locked[0]["reason"] != "failed_logins" {
		t.Fatalf("account.locked events: %v", locked)
	}
	// Unknown emails are throttled the same way.
	for range identity.FreeFailures {
		f.loginAs(t, "ghost@example.com", "wrong password", ip)
	}
	wantError(t, f.loginAs(t, "ghost@example.com", "wrong password", ip), http.StatusTooManyRequests, "RATE_LIMITED")

	if r := f.Admin(t, "DELETE", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user+"/throttle", nil); r.Status != http.StatusNoContent {
		t.Fatalf("lift: %d", r.Status)
	}
	f.Advance(time.Millisecond) // the lift must be later than the last failure
	if r := f.loginAs(t, "ada@example.com", pw, ip); r.Status != http.StatusOK {
		t.Fatalf("after lift: %d %s", r.Status, r.Body)
	}
	// The good login ended the streak: five more failures are free again.
	for range identity.FreeFailures {
		wantError(t, f.loginAs(t, "ada@example.com", "wrong password", ip), http.StatusUnauthorized, "INVALID_CREDENTIALS")
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

// Ensure a tenant's settings override the account limit, and that the
// rate-limit headers of a refusal by it show the caller's own per-address
// budget, never the account's.
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

func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("LATCH_TEST_REDIS_URL")
	if url == "" {
		t.Skip("LATCH_TEST_REDIS_URL not set (.ci/run sets it)")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// Ensure two servers on one Redis share an account's limit: what one
// counted, the other refuses.
func TestTwoServersShareRedisLimit(t *testing.T) {
	prefix := "latch-test:" + identity.NewID() + ":"
	a := setup(t)
	b := &fixture{Env: a.Twin(t), tenant: a.tenant}
	for _, e := range []*httpapitest.Env{a.Env, b.Env} {
		e.Service.Auth.Limiter = redisrate.New(testRedis(t), prefix) // a connection pool of its own each, as two processes
		e.Service.Auth.Config.AccountLimit = ratelimit.Limit{Count: 4, Period: time.Minute}
	}
	var statuses []int
	for i := range 6 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		statuses = append(statuses, srv.loginAs(t, "ada@example.com", "wrong password", "192.0.2.1").Status)
	}
	want := []int{401, 401, 401, 401, 429, 429}
	if !slices.Equal(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
}

// Ensure an unreachable Redis degrades to per-instance limits: logins keep
// working, and limits still apply.
func TestRedisDownFallsBack(t *testing.T) {
	f := setup(t)
	dead := redisrate.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), "x:")
	f.Service.Auth.Limiter = &ratelimit.Fallback{Primary: dead, Secondary: ratelimit.NewMemory(nil)}
	f.Service.Auth.Config.AccountLimit = ratelimit.Limit{Count: 2, Period: time.Minute}
	var got []int
	for _, p := range []string{pw, "wrong password", "wrong password", pw} {
		got = append(got, f.loginAs(t, "ada@example.com", p, "192.0.2.2").Status)
	}
	got = append(got, f.loginAs(t, "ada@example.com", pw, "192.0.2.3").Status)
	// The third failure finds the ceiling spent; the good password from
	// the known address still gets in, a stranger's does not.
	if !slices.Equal(got, []int{200, 401, 401, 200, 429}) {
		t.Fatalf("statuses %v, want [200 401 401 200 429]", got)
	}
}

// Ensure a flood of logins beyond the hashing pool's queue is shed at
// once with 503 and Retry-After, for unknown and known users alike, and
// that nothing answers 500.
func TestHashPoolSheds(t *testing.T) {
	f := setup(t)
	// One worker, one waiting place, and hashes slow enough to overlap.
	h, err := password.NewPool(password.Params{Memory: 16 << 10, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		password.Pool{Workers: 1, MaxQueue: 1, MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.Service.Auth.Passwords = h
	f.MustUser(t, f.tenant, map[string]any{"email": "slow@example.com", "password": pw})
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			email := "slow@example.com"
			if i%2 == 1 {
				email = "ghost@example.com"
			}
			r := f.loginAs(t, email, pw, "192.0.2.1")
			if r.Status == http.StatusServiceUnavailable {
				wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
				retryAfter(t, r)
			}
			mu.Lock()
			counts[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("statuses: %v", counts)
	if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusOK]+counts[http.StatusUnauthorized] == 0 {
		t.Fatalf("statuses %v: want some shed (503) and some served", counts)
	}
	if counts[http.StatusInternalServerError] > 0 {
		t.Fatalf("500s: %v", counts)
	}
}
