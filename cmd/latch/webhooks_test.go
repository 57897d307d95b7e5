package main_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Ensure a crash loses no webhook: 50 logins' events are pending (the
// receiver is slow, so some are in flight and the rest queued) when the
// server is killed with SIGKILL; after a restart every one of them is
// delivered.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	var ok atomic.Bool
	var mu sync.Mutex
	attempted, delivered := map[string]bool{}, map[string]bool{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		attempted[id] = true
		if ok.Load() {
			delivered[id] = true
		}
		mu.Unlock()
		if !ok.Load() {
			time.Sleep(2 * time.Second) // still in flight when the server dies
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	count := func(m map[string]bool) int {
		mu.Lock()
		defer mu.Unlock()
		return len(m)
	}

	bin, dir := buildLatch(t), t.TempDir()
	const admin = "sigkill-admin-token-0123456789"
	env := []string{"LATCH_SECRET=sigkill test secret of at least 32 bytes", "LATCH_ADMIN_TOKEN=" + admin, "LATCH_LISTEN=127.0.0.1:0",
		"LATCH_WEBHOOK_ALLOW_PRIVATE=true", "LATCH_WEBHOOK_RETRY_BASE=200ms", "LATCH_RATE_LIMIT_IP=off", "LATCH_RATE_LIMIT_ACCOUNT=off"}
	p := start(t, bin, dir, env, "serve", "--db", "sqlite:hooks.db")
	base, auth := "http://"+p.addr, []string{"Authorization", "Bearer " + admin}
	_, tn := call(t, "POST", base+"/admin/v1/tenants", map[string]any{"name": "Hooks", "alias": "hooks"}, auth...)
	tid := tn["id"].(string)
	call(t, "POST", base+"/admin/v1/tenants/"+tid+"/users", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, auth...)
	st, ep := call(t, "POST", base+"/admin/v1/tenants/"+tid+"/webhooks", map[string]any{"url": rcv.URL, "events": []string{"account.logged-in"}}, auth...)
	if st != http.StatusCreated {
		t.Fatalf("endpoint: %d", st)
	}
	wid := ep["id"].(string)
	for i := range 50 {
		if st, _ := call(t, "POST", base+"/v3/accounts/login", map[string]any{"accountAlias": "hooks", "email": "ada@example.com", "password": "correct horse battery"}); st != http.StatusOK {
			t.Fatalf("login %d: %d", i, st)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); count(attempted) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no delivery started before the kill")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := count(attempted)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	if count(delivered) != 0 {
		t.Fatal("delivered before the receiver recovered")
	}

	ok.Store(true)
	restarted := time.Now()
	p = start(t, bin, dir, env, "serve", "--db", "sqlite:hooks.db")
	// Deliveries in flight at the kill are retried when their lease (the
	// webhook timeout plus 5 s) runs out; the queued ones go out at once.
	for deadline := time.Now().Add(40 * time.Second); count(delivered) < 50; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 50 events delivered after the restart", count(delivered))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The admin route and the command both send a signed ping and show the answer.
	if st, a := call(t, "POST", "http://"+p.addr+"/admin/v1/tenants/"+tid+"/webhooks/"+wid+"/test", nil, auth...); st != http.StatusOK || a["status_code"] != 204.0 {
		t.Fatalf("test route: %d %v", st, a)
	}
	cmd := exec.Command(bin, "webhook", "test", "--db", "sqlite:hooks.db", "--tenant", tid, "--webhook", wid)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "204 in") {
		t.Fatalf("latch webhook test: %v\n%s", err, out)
	}
	t.Logf("all 50 delivered %v after the restart; %d had been sent (unanswered) before the kill", time.Since(restarted).Round(time.Millisecond), before)
}
