package main_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// call sends a JSON request and decodes a JSON object answer.
func call(t testing.TB, method, url string, body any, hdr ...string) (int, map[string]any) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	status, answer := send(t, method, url, "application/json", string(raw), hdr...)
	var m map[string]any
	json.Unmarshal([]byte(answer), &m)
	return status, m
}

// Ensure two `latch serve` processes on one PostgreSQL database are one
// service: they start together (one migrates, the other waits), share the
// signing keys and, without LATCH_ISSUER, the issuer (it once was each
// instance's listen address), and refresh rotation and reuse detection
// hold across them.
func TestTwoInstancesOnePostgres(t *testing.T) {
	db := postgrestest.URL(t)
	bin := buildLatch(t)
	var mu sync.Mutex
	hits := map[string]int{} // webhook-id → deliveries
	types := map[string]string{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Event string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		hits[r.Header.Get("webhook-id")]++
		types[r.Header.Get("webhook-id")] = body.Event
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	const admin = "instances-admin-token-0123456789"
	env := []string{"LATCH_DB=" + db, "LATCH_SECRET=two instances share this secret, 32+ bytes",
		"LATCH_ADMIN_TOKEN=" + admin, "LATCH_WEBHOOK_ALLOW_PRIVATE=true"}
	var a, b *proc
	var wg sync.WaitGroup
	wg.Go(func() { a = start(t, bin, t.TempDir(), append(env, "LATCH_LISTEN="+freePort(t)), "serve") })
	wg.Go(func() { b = start(t, bin, t.TempDir(), append(env, "LATCH_LISTEN="+freePort(t)), "serve") })
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	A, B := "http://"+a.addr, "http://"+b.addr
	auth := []string{"Authorization", "Bearer " + admin}

	// A grace window far longer than any step of the test, however slow
	// the machine: reuse is shown with a token two generations old, which
	// is reuse at any time.
	st, tenant := call(t, "POST", A+"/admin/v1/tenants", map[string]any{"name": "Two", "alias": "two",
		"settings": map[string]any{"refresh_grace_seconds": 60}}, auth...)
	if st != http.StatusCreated {
		t.Fatalf("create tenant on A: %d %v", st, tenant)
	}
	tid := tenant["id"].(string)
	if st, _ := call(t, "POST", B+"/admin/v1/tenants/"+tid+"/users", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, auth...); st != http.StatusCreated {
		t.Fatalf("create user on B: %d", st)
	}
	st, endpoint := call(t, "POST", B+"/admin/v1/tenants/"+tid+"/webhooks", map[string]any{"url": rcv.URL,
		"events": []string{"account.logged-in", "account.refresh-token-reused"}}, auth...)
	if st != http.StatusCreated {
		t.Fatalf("endpoint on B: %d", st)
	}
	login := map[string]any{"accountAlias": "two", "email": "ada@example.com", "password": "correct horse battery"}
	st, toks := call(t, "POST", A+"/v3/accounts/login", login)
	if st != http.StatusOK {
		t.Fatalf("login on A: %d %v", st, toks)
	}
	first := toks["refreshToken"].(string)

	// B verifies A's access token against its own JWKS: the keys are shared.
	_, jwks := call(t, "GET", B+"/.well-known/jwks.json", nil)
	kid := func() string {
		tok, _, _ := jwt.NewParser().ParseUnverified(toks["accessToken"].(string), jwt.MapClaims{})
		return tok.Header["kid"].(string)
	}()
	found := false
	for _, k := range jwks["keys"].([]any) {
		found = found || k.(map[string]any)["kid"] == kid
	}
	if !found {
		t.Fatalf("B does not publish A's signing key %s", kid)
	}

	// Rotation on B, then the same (first) token on A within the grace
	// window yields the same successor; B's token carries A's issuer.
	st, rot := call(t, "POST", B+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": first})
	if st != http.StatusOK {
		t.Fatalf("refresh on B: %d %v", st, rot)
	}
	issuer := func(tok map[string]any) string {
		claims := jwt.MapClaims{}
		jwt.NewParser().ParseUnverified(tok["accessToken"].(string), claims)
		iss, _ := claims["iss"].(string)
		return iss
	}
	if issA, issB := issuer(toks), issuer(rot); issA == "" || issA != issB {
		t.Fatalf("instances sign with different issuers: A %q, B %q", issA, issB)
	}
	second := rot["refreshToken"].(string)
	if st, again := call(t, "POST", A+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": first}); st != http.StatusOK || again["refreshToken"] != second {
		t.Fatalf("grace retry on A: %d %v", st, again)
	}
	// A rotates once more; the first token, two generations back, is reuse.
	st, rot = call(t, "POST", A+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": second})
	if st != http.StatusOK {
		t.Fatalf("second refresh on A: %d %v", st, rot)
	}
	third := rot["refreshToken"].(string)
	st, reuse := call(t, "POST", A+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": first})
	if st != http.StatusConflict || reuse["code"] != "REFRESH_TOKEN_REUSED" {
		t.Fatalf("reuse on A: %d %v", st, reuse)
	}
	// The session is revoked for both instances: an unusable token is 400.
	if st, _ := call(t, "POST", B+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": third}); st != http.StatusBadRequest {
		t.Fatalf("successor on B after reuse: %d", st)
	}
	st, evs := call(t, "GET", B+"/admin/v1/tenants/"+tid+"/events?type=account.refresh-token-reused", nil, auth...)
	if st != http.StatusOK || len(evs["events"].([]any)) != 1 {
		t.Fatalf("reuse events seen from B: %d %v", st, evs)
	}
	// Every event, whichever instance recorded it, is delivered, and none
	// twice: the login (A), the rotations (B, A) and the reuse (A).
	want := map[string]int{"account.logged-in": 3, "account.refresh-token-reused": 1}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := map[string]int{}
		for id, n := range hits {
			if n != 1 {
				mu.Unlock()
				t.Fatalf("event %s delivered %d times", id, n)
			}
			got[types[id]]++
		}
		mu.Unlock()
		if maps.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once every delivery is recorded as delivered, no instance can send
	// it again (a resend needs a lease that ran out unrecorded): then count.
	deliveries := B + "/admin/v1/tenants/" + tid + "/webhooks/" + endpoint["id"].(string) + "/deliveries"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, list := call(t, "GET", deliveries, nil, auth...)
		items, _ := list["deliveries"].([]any)
		settled := st == http.StatusOK && len(items) == 4
		for _, d := range items {
			settled = settled && d.(map[string]any)["status"] == "delivered"
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not all recorded as delivered: %d %v", st, list)
		}
	}
	mu.Lock()
	for id, n := range hits {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
	mu.Unlock()
	for _, p := range []*proc{a, b} {
		if strings.Contains(p.stdout.String(), "panic") {
			t.Fatalf("panic in output: %s", p.stdout.String())
		}
		p.stop(t)
	}
}
