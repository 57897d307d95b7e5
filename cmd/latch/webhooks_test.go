package main_test

import (
	"net"
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
// server is killed with SIGKILL; after a restart every one of them has
// been delivered. Deliveries are counted by event, whenever they were
// made: on a slow machine some finish before the kill.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	var slow atomic.Bool
	slow.Store(true)
	var mu sync.Mutex
	attempted, delivered := map[string]bool{}, map[string]bool{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		attempted[id] = true
		mu.Unlock()
		if slow.Load() {
			time.Sleep(2 * time.Second) // still in flight when the server dies
		}
		mu.Lock()
		delivered[id] = true
		mu.Unlock()
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
	for deadline := time.Now().Add(30 * time.Second); count(attempted) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no delivery started before the kill")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	before := count(delivered)

	slow.Store(false)
	restarted := time.Now()
	p = start(t, bin, dir, env, "serve", "--db", "sqlite:hooks.db")
	// Sends in flight at the kill are made again when the endpoint's lease
	// (10 s) runs out, from the last saved cursor.
	for deadline := time.Now().Add(60 * time.Second); count(delivered) < 50; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 50 events delivered (%d before the kill)", count(delivered), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := count(attempted); n != 50 {
		t.Fatalf("%d distinct events sent, want the 50", n)
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
	t.Logf("all 50 delivered, %d before the kill, the rest within %v of the restart", before, time.Since(restarted).Round(time.Millisecond))
}

// Ensure a receiver that is down for a while is retried on schedule and
// not suspended (suspension takes LATCH_WEBHOOK_SUSPEND_AFTER, 72 h, of
// failing): 20 logins happen while nothing listens at the endpoint's
// address, latch is killed and restarted, the receiver comes up, and all
// 20 events arrive within 30 s.
func TestWebhooksAfterReceiverOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused

	bin, dir := buildLatch(t), t.TempDir()
	const admin = "outage-admin-token-0123456789"
	env := []string{"LATCH_SECRET=outage test secret of at least 32 bytes", "LATCH_ADMIN_TOKEN=" + admin, "LATCH_LISTEN=127.0.0.1:0",
		"LATCH_WEBHOOK_ALLOW_PRIVATE=true", "LATCH_WEBHOOK_RETRY_BASE=100ms", "LATCH_RATE_LIMIT_IP=off", "LATCH_RATE_LIMIT_ACCOUNT=off"}
	p := start(t, bin, dir, env, "serve", "--db", "sqlite:outage.db")
	base, auth := "http://"+p.addr, []string{"Authorization", "Bearer " + admin}
	_, tn := call(t, "POST", base+"/admin/v1/tenants", map[string]any{"name": "Outage", "alias": "outage"}, auth...)
	tid := tn["id"].(string)
	call(t, "POST", base+"/admin/v1/tenants/"+tid+"/users", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, auth...)
	st, ep := call(t, "POST", base+"/admin/v1/tenants/"+tid+"/webhooks", map[string]any{"url": "http://" + addr + "/hook", "events": []string{"account.logged-in"}}, auth...)
	if st != http.StatusCreated {
		t.Fatalf("endpoint: %d %v", st, ep)
	}
	hook := base + "/admin/v1/tenants/" + tid + "/webhooks/" + ep["id"].(string)
	for i := range 20 {
		if st, _ := call(t, "POST", base+"/v3/accounts/login", map[string]any{"accountAlias": "outage", "email": "ada@example.com", "password": "correct horse battery"}); st != http.StatusOK {
			t.Fatalf("login %d: %d", i, st)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, w := call(t, "GET", hook, nil, auth...)
		if w["status"] == "unhealthy" && w["failing_since"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint did not become unhealthy: %v", w)
		}
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p = start(t, bin, dir, env, "serve", "--db", "sqlite:outage.db")
	base = "http://" + p.addr
	hook = base + "/admin/v1/tenants/" + tid + "/webhooks/" + ep["id"].(string)

	var mu sync.Mutex
	got := map[string]bool{}
	up, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s (another process took the port?): %v", addr, err)
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("webhook-id")] = true
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go rcv.Serve(up)
	defer rcv.Close()
	since := time.Now()
	for deadline := since.Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 20 {
			break
		}
		if time.Now().After(deadline) {
			_, w := call(t, "GET", hook, nil, auth...)
			t.Fatalf("%d of 20 events arrived within 30 s of the receiver coming up; endpoint %v", n, w)
		}
	}
	if _, w := call(t, "GET", hook, nil, auth...); w["status"] == "suspended" {
		t.Fatalf("the endpoint was suspended: %v", w)
	}
	t.Logf("all 20 events arrived %v after the receiver came up", time.Since(since).Round(time.Millisecond))
}
