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
func call(t *testing.T, method, url string, body any, hdr ...string) (int, map[string]any) {
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
// signing keys, and refresh rotation and reuse detection hold across them.
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
		"LATCH_ADMIN_TOKEN=" + admin, "LATCH_LISTEN=127.0.0.1:0", "LATCH_WEBHOOK_ALLOW_PRIVATE=true"}
	var a, b *proc
	var wg sync.WaitGroup
	wg.Go(func() { a = start(t, bin, t.TempDir(), env, "serve") })
	wg.Go(func() { b = start(t, bin, t.TempDir(), env, "serve") })
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	A, B := "http://"+a.addr, "http://"+b.addr
	auth := []string{"Authorization", "Bearer " + admin}

	// A one-second grace window keeps the test short.
	st, tenant := call(t, "POST", A+"/admin/v1/tenants", map[string]any{"name": "Two", "alias": "two",
		"settings": map[string]any{"refresh_grace_seconds": 1}}, auth...)
	if st != http.StatusCreated {
		t.Fatalf("create tenant on A: %d %v", st, tenant)
	}
	tid := tenant["id"].(string)
	if st, _ := call(t, "POST", B+"/admin/v1/tenants/"+tid+"/users", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, auth...); st != http.StatusCreated {
		t.Fatalf("create user on B: %d", st)
	}
	if st, _ := call(t, "POST", B+"/admin/v1/tenants/"+tid+"/webhooks", map[string]any{"url": rcv.URL,
		"events": []string{"account.logged-in", "account.refresh-token-reused"}}, auth...); st != http.StatusCreated {
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
	// window yields the same successor; after it, A detects reuse.
	st, rot := call(t, "POST", B+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": first})
	if st != http.StatusOK {
		t.Fatalf("refresh on B: %d %v", st, rot)
	}
	second := rot["refreshToken"].(string)
	if st, again := call(t, "POST", A+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": first}); st != http.StatusOK || again["refreshToken"] != second {
		t.Fatalf("grace retry on A: %d %v", st, again)
	}
	time.Sleep(1500 * time.Millisecond) // past the grace window
	st, reuse := call(t, "POST", A+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": first})
	if st != http.StatusConflict || reuse["code"] != "REFRESH_TOKEN_REUSED" {
		t.Fatalf("reuse on A: %d %v", st, reuse)
	}
	// The session is revoked for both instances.
	if st, _ := call(t, "POST", B+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": second}); st != http.StatusBadRequest {
		t.Fatalf("successor on B after reuse: %d", st)
	}
	st, evs := call(t, "GET", B+"/admin/v1/tenants/"+tid+"/events?type=account.refresh-token-reused", nil, auth...)
	if st != http.StatusOK || len(evs["events"].([]any)) != 1 {
		t.Fatalf("reuse events seen from B: %d %v", st, evs)
	}
	// Every event, whichever instance recorded it, is delivered, and none
	// twice: the login (A), the rotation (B) and the reuse (A).
	want := map[string]int{"account.logged-in": 2, "account.refresh-token-reused": 1}
	deadline := time.Now().Add(10 * time.Second)
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
	time.Sleep(500 * time.Millisecond) // a second delivery would show up here
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
