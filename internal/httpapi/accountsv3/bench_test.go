package accountsv3_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
	"github.com/latchauth/latch/internal/webhook"
)

// The benchmarks run with 16 concurrent clients on loopback, as the
// targets in DEVELOPERS.md are stated (GOMAXPROCS × 8 on a 2-core box).
const clientsPerCPU = 8

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

// limitsOn gives the server the in-memory limiter a default deployment
// runs with, with limits the benchmark never reaches, so that the cost of
// counting is in the figures.
func limitsOn(env *httpapitest.Env) {
	env.Service.Auth.Limiter = ratelimit.NewMemory(nil)
	env.Service.Auth.Config.IPLimit = ratelimit.Limit{Count: 1 << 30, Period: time.Hour}
	env.Service.Auth.Config.AccountLimit = ratelimit.Limit{Count: 1 << 30, Period: time.Hour}
}

func post(b *testing.B, c *http.Client, url string, body any) map[string]any {
	buf, _ := json.Marshal(body)
	res, err := c.Post(url, "application/json", bytes.NewReader(buf))
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d %s", url, res.StatusCode, raw)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

// latencies gathers per-request durations from parallel workers.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.all)
	if n := len(l.all); n > 0 {
		b.ReportMetric(float64(l.all[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(l.all[n*99/100].Microseconds())/1000, "p99-ms")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkArgon2idRaw is the baseline: argon2id at the default
// parameters, as many in parallel as the benchmark's clients.
func BenchmarkArgon2idRaw(b *testing.B) {
	p := password.DefaultParams
	salt := make([]byte, 16)
	b.SetParallelism(clientsPerCPU)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey([]byte("correct horse battery"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hash/s")
}

// BenchmarkPasswordLogin is a full accounts-v3 login over HTTP with the
// default argon2id parameters: decode, tenant and user lookup, verify,
// session and event write, JWT signing, encode.
func BenchmarkPasswordLogin(b *testing.B) {
	benchLogin(b, httpapitest.New(b, password.DefaultParams))
}

// BenchmarkPasswordLoginPostgres is BenchmarkPasswordLogin on PostgreSQL.
func BenchmarkPasswordLoginPostgres(b *testing.B) {
	benchLogin(b, pgEnv(b, password.DefaultParams, postgrestest.URL(b)))
}

// BenchmarkPasswordLoginPostgresTwoInstances splits the clients between
// two servers on one PostgreSQL database (one process, the same 2 cores).
func BenchmarkPasswordLoginPostgresTwoInstances(b *testing.B) {
	env := pgEnv(b, password.DefaultParams, postgrestest.URL(b))
	benchLogin(b, env, env.Twin(b))
}

func benchLogin(b *testing.B, envs ...*httpapitest.Env) {
	body := benchAccount(b, envs)
	benchParallel(b, envs, func(c *http.Client, base string) func() {
		url := base + "/v3/accounts/login"
		return func() { post(b, c, url, body) }
	})
}

// benchAccount gives every env what a deployment runs with (the in-memory
// limiter counting every request, a webhook dispatcher woken by every
// event) and creates the tenant and user the clients log in as, returning
// the login body.
func benchAccount(b *testing.B, envs []*httpapitest.Env) map[string]any {
	d := &webhook.Dispatcher{Store: envs[0].Store, Secret: envs[0].Service.Webhooks.Secret, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	for _, e := range envs {
		limitsOn(e)
		e.Service.Auth.EventsWritten = d.Wake
	}
	tid := envs[0].MustTenant(b, "bench")
	envs[0].MustUser(b, tid, map[string]any{"email": "bench@example.com", "password": pw})
	return map[string]any{"accountId": tid, "email": "bench@example.com", "password": pw}
}

// benchParallel runs clientsPerCPU clients per CPU, spread round-robin
// over envs; each builds its operation once (newOp) and repeats it, and
// the latencies of the operation are reported.
func benchParallel(b *testing.B, envs []*httpapitest.Env, newOp func(c *http.Client, base string) func()) {
	c := benchClient()
	var lat latencies
	var next atomic.Int32
	b.SetParallelism(clientsPerCPU)
	cpu := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		op := newOp(c, envs[int(next.Add(1))%len(envs)].URL)
		var mine []time.Duration
		for pb.Next() {
			s := time.Now()
			op()
			mine = append(mine, time.Since(s))
		}
		lat.add(mine)
	})
	b.StopTimer()
	// The process's CPU time (server, load generator and all) per
	// operation: steadier than the rate on a shared machine.
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
	lat.report(b)
}

// BenchmarkRefresh chains refresh-token rotations: each client logs in once
// and then refreshes with the token it got last, so every request is a
// real rotation (CAS, event insert, JWT signing), never a grace answer.
func BenchmarkRefresh(b *testing.B) {
	benchRefresh(b, httpapitest.New(b, httpapitest.CheapArgon))
}

// BenchmarkRefreshPostgres is BenchmarkRefresh on PostgreSQL.
func BenchmarkRefreshPostgres(b *testing.B) {
	benchRefresh(b, pgEnv(b, httpapitest.CheapArgon, postgrestest.URL(b)))
}

// BenchmarkRefreshPostgresTwoInstances splits the clients between two
// servers on one PostgreSQL database, as two instances behind a balancer
// (in one process here, so they share the 2 cores as they would on one box).
func BenchmarkRefreshPostgresTwoInstances(b *testing.B) {
	env := pgEnv(b, httpapitest.CheapArgon, postgrestest.URL(b))
	benchRefresh(b, env, env.Twin(b))
}

func benchRefresh(b *testing.B, envs ...*httpapitest.Env) {
	body := benchAccount(b, envs)
	benchParallel(b, envs, func(c *http.Client, base string) func() {
		rt := post(b, c, base+"/v3/accounts/login", body)["refreshToken"].(string)
		url := base + "/v3/accounts/login-refresh-token"
		return func() { rt = post(b, c, url, map[string]any{"refreshToken": rt})["refreshToken"].(string) }
	})
}
