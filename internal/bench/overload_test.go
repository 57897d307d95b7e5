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

// Ensure the overload scenario alternates its slices, sums both kinds and
// reads the server's RSS from /metrics; figures are not judged here
// (benchmarks measure, tests do not).
func TestRunOverload(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	env.MustUser(t, env.MustTenant(t, "bench"), map[string]any{"email": "load@example.com", "password": "correct horse battery"})
	var progress bytes.Buffer
	r, err := bench.RunOverload(context.Background(), bench.OverloadConfig{
		Config:   bench.Config{URL: env.URL, Account: "bench", Email: "load@example.com", Password: "correct horse battery", Clients: 6, Duration: 300 * time.Millisecond},
		Baseline: 2, Slices: 2,
	}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if r.Load.Clients != 6 || r.Baseline.Clients != 2 || len(r.Load.Slices) != 2 || len(r.Baseline.Slices) != 2 {
		t.Fatalf("slices: %+v / %+v", r.Load, r.Baseline)
	}
	if r.Baseline.Statuses[200] == 0 || r.Load.Statuses[200] == 0 || r.Ratio() <= 0 || r.PeakRSS == 0 {
		t.Fatalf("result %+v", r)
	}
	if got := strings.Count(progress.String(), "slice "); got != 4 {
		t.Fatalf("%d progress lines:\n%s", got, progress.String())
	}
	if s := r.String(); !strings.Contains(s, "overload ratio: ") || !strings.Contains(s, "server peak RSS: ") {
		t.Fatalf("summary %q", s)
	}
	_, err = bench.RunOverload(context.Background(), bench.OverloadConfig{Config: bench.Config{URL: env.URL, Account: "bench",
		Email: "load@example.com", Password: "wrong password", Clients: 1, Duration: time.Second}}, nil)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad credentials: %v", err)
	}
}
