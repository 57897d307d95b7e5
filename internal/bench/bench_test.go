package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/bench"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

// Ensure both modes make real load against a real server and sum it up,
// and that bad credentials fail at once with a clear message.
func TestRun(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "bench")
	env.MustUser(t, tid, map[string]any{"email": "load@example.com", "password": "correct horse battery"})
	for _, mode := range []string{"login", "refresh"} {
		var progress bytes.Buffer
		r, err := bench.Run(context.Background(), bench.Config{URL: env.URL, Account: "bench", Email: "load@example.com",
			Password: "correct horse battery", Mode: mode, Clients: 4, Duration: 1500 * time.Millisecond}, &progress)
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests == 0 || r.Statuses[200] != r.Requests || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
			t.Fatalf("%s: %+v", mode, r)
		}
		if !strings.Contains(progress.String(), "req/s") || !strings.Contains(r.String(), "200: ") {
			t.Fatalf("%s: progress %q, summary %q", mode, progress.String(), r.String())
		}
	}
	_, err := bench.Run(context.Background(), bench.Config{URL: env.URL, Account: tid, Email: "load@example.com", Password: "wrong password",
		Mode: "login", Clients: 1, Duration: time.Second}, nil)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad credentials: %v", err)
	}
	if _, err := bench.Run(context.Background(), bench.Config{Mode: "fly", Clients: 1, Duration: time.Second}, nil); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

// Ensure the webhook scenario alternates slices without and with
// endpoints, receives every event on its own receiver and reports the
// ratio and the lag.
func TestRunWebhooks(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "hooks")
	env.MustUser(t, tid, map[string]any{"email": "load@example.com", "password": "correct horse battery"})
	env.Deliver(t, 5*time.Second)
	var progress bytes.Buffer
	r, err := bench.RunWebhooks(context.Background(), bench.Config{URL: env.URL, Account: "hooks", Email: "load@example.com",
		Password: "correct horse battery", Mode: "refresh", Clients: 2, Duration: 500 * time.Millisecond},
		bench.WebhookConfig{Endpoints: 2, AdminToken: httpapitest.AdminToken, Slices: 2, Drain: 30 * time.Second}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.With) != 2 || len(r.Without) != 2 || r.Expected == 0 || r.Delivered != r.Expected || len(r.Lag) < r.Expected || r.Ratio() <= 0 {
		t.Fatalf("%+v", r)
	}
	if !strings.Contains(r.String(), "ratio with/without") || !strings.Contains(progress.String(), "with 2 endpoint(s)") {
		t.Fatalf("summary %q, progress %q", r.String(), progress.String())
	}
	if ws := env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/webhooks", nil).JSON(t)["webhooks"].([]any); len(ws) != 0 {
		t.Fatalf("endpoints left behind: %v", ws)
	}
	if _, err := bench.RunWebhooks(context.Background(), bench.Config{URL: env.URL, Account: "hooks"}, bench.WebhookConfig{Endpoints: 1, AdminToken: "wrong", Slices: 1}, nil); err == nil || !strings.Contains(err.Error(), "admin-token") {
		t.Fatalf("wrong admin token: %v", err)
	}
}
