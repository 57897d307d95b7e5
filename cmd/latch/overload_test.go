package main_test

import (
	"bufio"
	"bytes"
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
