package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
	"github.com/latchauth/latch/internal/webhook"
)

// hookBench is a server with a running dispatcher and a fast receiver on
// 127.0.0.1 that records every delivery's lag from its triggeredAt.
type hookBench struct {
	env    *httpapitest.Env
	tenant string
	rcv    *httptest.Server
	mu     sync.Mutex
	seen   map[string]int // webhook-id + path → deliveries
	lag    []time.Duration
}

func newHookBench(b *testing.B, store string) *hookBench {
	var env *httpapitest.Env
	switch store {
	case "sqlite":
		env = httpapitest.New(b, httpapitest.CheapArgon)
	case "postgres":
		db, err := postgres.Open(context.Background(), postgrestest.URL(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		env = httpapitest.NewOn(b, httpapitest.CheapArgon, db)
	}
	h := &hookBench{env: env, tenant: env.MustTenant(b, "bench"), seen: map[string]int{}}
	env.MustUser(b, h.tenant, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	env.Deliver(b, webhook.Timeout)
	h.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		var ev struct {
			TriggeredAt time.Time `json:"triggeredAt"`
		}
		json.Unmarshal(body, &ev)
		h.mu.Lock()
		h.seen[r.Header.Get("webhook-id")+r.URL.Path]++
		h.lag = append(h.lag, now.Sub(ev.TriggeredAt))
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(h.rcv.Close)
	return h
}

func (h *hookBench) delivered() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// refresh chains rotations on clients goroutines until stop, and returns
// how many succeeded.
func (h *hookBench) refresh(b *testing.B, c *http.Client, tokens []string, stop time.Time) int64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			for time.Now().Before(stop) {
				buf, _ := json.Marshal(map[string]string{"refreshToken": tokens[i]})
				res, err := c.Post(h.env.URL+"/v3/accounts/login-refresh-token", "application/json", bytes.NewReader(buf))
				if err != nil {
					b.Error(err)
					return
				}
				var m map[string]any
				json.NewDecoder(res.Body).Decode(&m)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("refresh: %d %v", res.StatusCode, m)
					return
				}
				tokens[i] = m["refreshToken"].(string)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load()
}

// BenchmarkRefreshWebhookRatio measures refresh-token rotations (16
// clients, each refresh emits account.logged-in) in alternating
// one-second slices without and with endpoints subscribed to it, all
// pointing at one fast receiver in this process, and reports the ratio of
// the two rates (target ≥ 0.8 with one endpoint, ≥ 0.6 with ten) and the
// receiver's lag from each event's triggeredAt (target p99 < 1 s). Before
// each slice with endpoints they are registered, after it the benchmark
// waits until every event has arrived and removes them. b.N is the number
// of slice pairs.
//
//	go test -run '^$' -bench RefreshWebhookRatio -benchtime 6x ./internal/httpapi/
func BenchmarkRefreshWebhookRatio(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		for _, n := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/endpoints=%d", store, n), func(b *testing.B) {
				if store == "postgres" {
					postgrestest.URL(b) // skips without PostgreSQL
				}
				benchWebhookRatio(b, newHookBench(b, store), n)
			})
		}
	}
}

func benchWebhookRatio(b *testing.B, h *hookBench, endpoints int) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	tokens := make([]string, 8*runtime.GOMAXPROCS(0))
	for i := range tokens {
		r := h.env.Do(b, "POST", "/v3/accounts/login", map[string]any{"accountId": h.tenant, "email": "ada@example.com", "password": "correct horse battery"})
		tokens[i] = r.JSON(b)["refreshToken"].(string)
	}
	var without, with int64
	var withoutTime, withTime, withoutCPU, withCPU time.Duration
	expected, inSlice := 0, 0
	b.ResetTimer()
	for i := range b.N {
		for _, hooked := range []bool{i%2 == 1, i%2 == 0} {
			var ids []string
			if hooked {
				for k := range endpoints {
					r := h.env.Admin(b, "POST", "/admin/v1/tenants/"+h.tenant+"/webhooks",
						map[string]any{"url": fmt.Sprintf("%s/hook/%d", h.rcv.URL, k), "events": []string{identity.EventLoggedIn}})
					ids = append(ids, r.JSON(b)["id"].(string))
				}
			}
			cpu0 := cpuTime()
			start := time.Now()
			n := h.refresh(b, c, tokens, start.Add(time.Second))
			took := time.Since(start)
			if !hooked {
				without, withoutTime, withoutCPU = without+n, withoutTime+took, withoutCPU+cpuTime()-cpu0
				continue
			}
			with, withTime = with+n, withTime+took
			inSlice += h.delivered() - expected
			expected += int(n) * endpoints
			b.StopTimer()
			for deadline := time.Now().Add(time.Minute); h.delivered() < expected; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d webhooks delivered a minute after the slice", h.delivered(), expected)
				}
			}
			withCPU += cpuTime() - cpu0 // the sends after the slice are its work too
			for _, id := range ids {
				h.env.Admin(b, "DELETE", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+id, nil)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	h.mu.Lock()
	defer h.mu.Unlock()
	slices.Sort(h.lag)
	q := func(p float64) float64 {
		return float64(h.lag[min(len(h.lag)-1, int(float64(len(h.lag))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(without)/withoutTime.Seconds(), "req/s-without")
	b.ReportMetric(float64(with)/withTime.Seconds(), "req/s-with")
	b.ReportMetric((float64(with)/withTime.Seconds())/(float64(without)/withoutTime.Seconds()), "ratio")
	// CPU per refresh (this process: clients, server, dispatcher and
	// receiver), without over with: the ratio the machine would reach if
	// it were busy with nothing else; the rates above move with whatever
	// else runs on it.
	b.ReportMetric((withoutCPU.Seconds()/float64(without))/(withCPU.Seconds()/float64(with)), "cpu-ratio")
	// The share of the deliveries made while the refreshes ran: under
	// load the dispatcher gives way to requests and catches up after.
	b.ReportMetric(float64(inSlice)/float64(expected), "sent-in-slice")
	b.ReportMetric(q(0.5), "lag-p50-ms")
	b.ReportMetric(q(0.99), "lag-p99-ms")
	b.ReportMetric(q(1), "lag-max-ms")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDispatcherCeiling measures how many events per second the
// dispatcher delivers with an idle store: b.N events wait in the log for
// one endpoint with a fast receiver before the dispatcher starts, and the
// clock runs until the last one has arrived.
//
//	go test -run '^$' -bench DispatcherCeiling -benchtime 20000x ./internal/httpapi/
func BenchmarkDispatcherCeiling(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run(store, func(b *testing.B) {
			if store == "postgres" {
				postgrestest.URL(b)
			}
			env := httpapitest.New(b, httpapitest.CheapArgon)
			if store == "postgres" {
				db, err := postgres.Open(context.Background(), postgrestest.URL(b))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { db.Close() })
				env = httpapitest.NewOn(b, httpapitest.CheapArgon, db)
			}
			tid := env.MustTenant(b, "ceiling")
			uid := env.MustUser(b, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
			var got atomic.Int64
			all := make(chan struct{})
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
				if got.Add(1) == int64(b.N) {
					close(all)
				}
			}))
			defer rcv.Close()
			env.Admin(b, "POST", "/admin/v1/tenants/"+tid+"/webhooks", map[string]any{"url": rcv.URL, "events": []string{identity.EventLoggedIn}})
			evs := make([]identity.Event, 0, 500)
			for i := range b.N {
				evs = append(evs, identity.Event{ID: identity.NewID(), TenantID: tid, UserID: uid, Type: identity.EventLoggedIn, CreatedAt: time.Now()})
				if len(evs) == cap(evs) || i == b.N-1 {
					if err := env.Store.AppendEvents(context.Background(), evs...); err != nil {
						b.Fatal(err)
					}
					evs = evs[:0]
				}
			}
			d := &webhook.Dispatcher{Store: env.Store, Secret: env.Service.Webhooks.Secret, Render: httpapi.WebhookPayload(env.Service.Webhooks),
				Client: webhook.Guard{AllowPrivate: true}.Client(webhook.Timeout), Logger: slog.New(slog.DiscardHandler)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			b.ResetTimer()
			cpu0 := cpuTime()
			go func() { d.Run(ctx); close(done) }()
			select {
			case <-all:
			case <-time.After(10 * time.Minute):
				b.Fatalf("%d of %d delivered", got.Load(), b.N)
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			// CPU per event, the receiver's included.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/event")
		})
	}
}
