package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/bench"
)

// peakRSS reads the process's peak resident set (VmHWM) in MiB.
func peakRSS(tb testing.TB, pid int) float64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	tb.Fatal("VmHWM not found")
	return 0
}

// BenchmarkConcurrentPasswordLogins starts the real binary with the
// default argon2id parameters and rate limits off (so that the hashing
// pool, not a limit, meets the load), then sends LATCH_BENCH_CONCURRENCY
// (default 1000) password logins at once, b.N times. It reports how many
// were shed with 503, the slowest answer of each kind, and the server's
// peak RSS; any 500 fails it.
//
//	go test ./cmd/latch -run '^$' -bench ConcurrentPasswordLogins -benchtime 3x
func BenchmarkConcurrentPasswordLogins(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("LATCH_BENCH_CONCURRENCY")); err == nil && v > 0 {
		n = v
	}
	bin := buildLatch(b)
	const admin = "bench-admin-token-0123456789"
	p := start(b, bin, b.TempDir(), []string{
		"LATCH_SECRET=benchmark secret of at least thirty-two bytes", "LATCH_ADMIN_TOKEN=" + admin,
		"LATCH_LISTEN=127.0.0.1:0", "LATCH_RATE_LIMIT_IP=off", "LATCH_RATE_LIMIT_ACCOUNT=off", "LATCH_LOG_LEVEL=info",
	}, "serve", "--db", "sqlite:bench.db")
	base := "http://" + p.addr
	post := func(path string, body any, hdr ...string) (int, []byte) {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var out bytes.Buffer
		out.ReadFrom(res.Body)
		return res.StatusCode, out.Bytes()
	}
	_, tb := post("/admin/v1/tenants", map[string]any{"name": "Bench", "alias": "bench"}, "Authorization", "Bearer "+admin)
	var tenant struct{ ID string }
	json.Unmarshal(tb, &tenant)
	if st, body := post("/admin/v1/tenants/"+tenant.ID+"/users", map[string]any{"email": "load@example.com", "password": "correct horse battery"},
		"Authorization", "Bearer "+admin); st != http.StatusCreated {
		b.Fatalf("create user: %d %s", st, body)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}, Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]any{"accountAlias": "bench", "email": "load@example.com", "password": "correct horse battery"})

	counts := map[int]int{}
	lat := map[int][]time.Duration{}
	var mu sync.Mutex
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-gate
				s := time.Now()
				res, err := client.Post(base+"/v3/accounts/login", "application/json", bytes.NewReader(body))
				d := time.Since(s)
				status := -1
				if err == nil {
					status = res.StatusCode
					var sink bytes.Buffer
					sink.ReadFrom(res.Body)
					res.Body.Close()
				}
				mu.Lock()
				counts[status]++
				lat[status] = append(lat[status], d)
				mu.Unlock()
			})
		}
		close(gate)
		wg.Wait()
	}
	b.StopTimer()
	total := 0
	for _, c := range counts {
		total += c
	}
	maxOf := func(st int) time.Duration {
		if len(lat[st]) == 0 {
			return 0
		}
		return slices.Max(lat[st])
	}
	b.ReportMetric(float64(counts[http.StatusServiceUnavailable])/float64(total), "shed_ratio")
	b.ReportMetric(float64(maxOf(http.StatusOK).Milliseconds()), "max_ok_ms")
	b.ReportMetric(float64(maxOf(http.StatusServiceUnavailable).Milliseconds()), "max_503_ms")
	b.ReportMetric(peakRSS(b, p.cmd.Process.Pid), "peak_rss_MiB")
	b.Logf("concurrency %d × %d rounds: statuses %v", n, b.N, counts)
	if counts[http.StatusInternalServerError] > 0 || counts[-1] > 0 {
		b.Fatalf("500s or transport errors: %v", counts)
	}
}

// BenchmarkOverloadGoodput is `latch bench --no-backoff` against the real
// binary: 200 closed-loop clients that resend at once on 503 (rate limits
// off), in 5 s slices alternating with 16 clients, b.N pairs. It reports
// the ratio of their successful logins per second (target ≥ 0.8), the 503
// latencies (target: all within 100 ms) and the server's peak RSS (target
// < 256 MiB); a 5xx other than 503, or a 503 without Retry-After, fails it.
//
//	go test ./cmd/latch -run '^$' -bench OverloadGoodput -benchtime 3x
func BenchmarkOverloadGoodput(b *testing.B) {
	bin := buildLatch(b)
	const admin = "bench-admin-token-0123456789"
	p := start(b, bin, b.TempDir(), []string{
		"LATCH_SECRET=benchmark secret of at least thirty-two bytes", "LATCH_ADMIN_TOKEN=" + admin,
		"LATCH_LISTEN=127.0.0.1:0", "LATCH_RATE_LIMIT_IP=off", "LATCH_RATE_LIMIT_ACCOUNT=off", "LATCH_LOG_LEVEL=info",
	}, "serve", "--db", "sqlite:bench.db")
	base := "http://" + p.addr
	adminPost := func(path string, body any) []byte {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			b.Fatalf("%s: %v %v", path, res, err)
		}
		defer res.Body.Close()
		var out bytes.Buffer
		out.ReadFrom(res.Body)
		return out.Bytes()
	}
	var tenant struct{ ID string }
	json.Unmarshal(adminPost("/admin/v1/tenants", map[string]any{"name": "Bench", "alias": "bench"}), &tenant)
	adminPost("/admin/v1/tenants/"+tenant.ID+"/users", map[string]any{"email": "load@example.com", "password": "correct horse battery"})
	b.ResetTimer()
	r, err := bench.RunOverload(context.Background(), bench.OverloadConfig{
		Config: bench.Config{URL: base, Account: "bench", Email: "load@example.com", Password: "correct horse battery",
			Clients: 200, Duration: 5 * time.Second},
		Baseline: 16, Slices: b.N, ServerPID: p.cmd.Process.Pid,
	}, nil)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.Log("\n" + r.String())
	b.ReportMetric(r.Ratio(), "goodput_ratio")
	b.ReportMetric(r.Load.Goodput(), "logins/s@200")
	b.ReportMetric(r.Baseline.Goodput(), "logins/s@16")
	b.ReportMetric(float64(r.Load.Quantile503(0.99).Microseconds())/1000, "p99_503_ms")
	b.ReportMetric(float64(r.Load.Quantile503(1).Microseconds())/1000, "max_503_ms")
	b.ReportMetric(float64(r.PeakRSS)/(1<<20), "peak_rss_MiB")
	if n := r.Load.ServerErrors() + r.Baseline.ServerErrors(); n > 0 || r.Load.NoRetryAfter > 0 {
		b.Fatalf("%d 5xx other than 503 or transport errors, %d 503s without Retry-After", n, r.Load.NoRetryAfter)
	}
}
