package main_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// abuseEnv is the environment of the throttling tests: the test client
// (loopback) is a trusted proxy, so X-Forwarded-For names the client; the
// account's failure ceiling is 5 an hour, so that once it trips it stays
// tripped for the whole test on any machine (one attempt per 12 minutes).
func abuseEnv(admin string) []string {
	return []string{"LATCH_SECRET=abuse test secret of at least 32 bytes", "LATCH_ADMIN_TOKEN=" + admin,
		"LATCH_LISTEN=127.0.0.1:0", "LATCH_TRUSTED_PROXIES=127.0.0.1/32,::1/128", "LATCH_RATE_LIMIT_ACCOUNT=5/h"}
}

// addr returns a random address of prefix, so that runs sharing one
// Redis never share an address's bucket.
func addr(prefix string) string {
	return fmt.Sprintf("%s.%d.%d", prefix, rand.IntN(250)+1, rand.IntN(250)+1)
}

// lockoutStory is the attack of the security review, against servers
// (requests go to them in turn): the victim logs in fifteen times in a
// row, an attacker sends forty wrong passwords from one address, then the
// victim logs in again from its usual address, a stranger with the right
// password tries a new address, and the attacker tries again.
func lockoutStory(t *testing.T, admin string, servers ...string) {
	t.Helper()
	auth := []string{"Authorization", "Bearer " + admin}
	next := 0
	server := func() string { next++; return servers[next%len(servers)] }
	st, tn := call(t, "POST", server()+"/admin/v1/tenants", map[string]any{"name": "Victim Inc"}, auth...)
	if st != http.StatusCreated {
		t.Fatalf("tenant: %d %v", st, tn)
	}
	tid := tn["id"].(string)
	if st, u := call(t, "POST", server()+"/admin/v1/tenants/"+tid+"/users", map[string]any{"email": "victim@example.com", "password": "correct horse battery"}, auth...); st != http.StatusCreated {
		t.Fatalf("user: %d %v", st, u)
	}
	login := func(ip, password string) (int, http.Header) {
		t.Helper()
		body := fmt.Sprintf(`{"accountId": %q, "email": "victim@example.com", "password": %q}`, tid, password)
		req, _ := http.NewRequest("POST", server()+"/v3/accounts/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", ip)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header
	}
	victim, attacker := addr("10.1"), addr("10.2")
	for i := range 15 {
		if st, _ := login(victim, "correct horse battery"); st != http.StatusOK {
			t.Fatalf("success %d of 15 in a row: %d", i+1, st)
		}
	}
	counts := map[int]int{}
	var last http.Header
	for range 40 {
		st, h := login(attacker, "wrong password")
		counts[st]++
		last = h
	}
	if counts[http.StatusUnauthorized] != 5 || counts[http.StatusTooManyRequests] != 35 {
		t.Fatalf("40 wrong passwords from one address: %v, want 5 × 401 then 35 × 429", counts)
	}
	// The headers of the attacker's 429 describe its own address budget
	// (300 a minute, spent by 40), never the account's ceiling.
	if rem, _ := strconv.Atoi(last.Get("X-Rate-Limit-Remaining")); last.Get("X-Rate-Limit-Limit") != "1m" || rem < 200 || last.Get("Retry-After") == "" {
		t.Fatalf("the attacker's 429 shows %q/%q, Retry-After %q", last.Get("X-Rate-Limit-Limit"), last.Get("X-Rate-Limit-Remaining"), last.Get("Retry-After"))
	}
	if st, _ := login(victim, "correct horse battery"); st != http.StatusOK {
		t.Fatalf("the victim from its known address after the attack: %d", st)
	}
	if st, _ := login(addr("10.3"), "correct horse battery"); st != http.StatusTooManyRequests {
		t.Fatalf("a stranger with the right password while the ceiling is tripped: %d", st)
	}
	if st, _ := login(attacker, "correct horse battery"); st != http.StatusTooManyRequests {
		t.Fatalf("the attacker's address afterwards: %d", st)
	}
	st, evs := call(t, "GET", server()+"/admin/v1/tenants/"+tid+"/events?type=account.locked", nil, auth...)
	reasons := map[any]int{}
	for _, e := range evs["events"].([]any) {
		reasons[e.(map[string]any)["data"].(map[string]any)["reason"]]++
	}
	if st != http.StatusOK || reasons["rate_limit"] != 1 {
		t.Fatalf("account.locked events by reason: %v, want one rate_limit (the ceiling tripping)", reasons)
	}
}

// Ensure an attacker cannot lock a user out through the binary: fifteen
// successes in a row are all 200, forty wrong passwords from one address
// are throttled, the victim then gets in from its known address while the
// attacker's address and strangers stay throttled.
func TestAttackerCannotLockOutUser(t *testing.T) {
	bin := buildLatch(t)
	const admin = "abuse-admin-token-0123456789"
	p := start(t, bin, t.TempDir(), abuseEnv(admin), "serve", "--db", "sqlite:a.db")
	lockoutStory(t, admin, "http://"+p.addr)
}

// Ensure the same holds for two instances sharing PostgreSQL and Redis,
// the requests alternating between them.
func TestAttackerCannotLockOutUserTwoInstances(t *testing.T) {
	redisURL := os.Getenv("LATCH_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("LATCH_TEST_REDIS_URL not set (.ci/run sets it)")
	}
	db := postgrestest.URL(t)
	bin := buildLatch(t)
	const admin = "abuse-admin-token-0123456789"
	env := append(abuseEnv(admin), "LATCH_DB="+db, "LATCH_REDIS_URL="+redisURL)
	a := start(t, bin, t.TempDir(), env, "serve")
	b := start(t, bin, t.TempDir(), env, "serve")
	lockoutStory(t, admin, "http://"+a.addr, "http://"+b.addr)
}
