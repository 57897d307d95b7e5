// Package bench is the load generator behind `latch bench`: concurrent
// clients logging in or chaining refresh-token rotations against a running
// server's accounts-v3 API, with per-second progress and a latency summary.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config says what load to make.
type Config struct {
	URL      string // the server's base URL
	Account  string // tenant id or alias
	Email    string
	Password string
	Mode     string // "login" or "refresh"
	Clients  int
	Duration time.Duration
	// Users, when above 0, spreads the load over that many users: Email is
	// then a pattern with one %d (user%07d@example.com), filled for each
	// login with a random number below Users, so that the reads land all
	// over the users' table and its indexes, not on one cached row.
	Users int
}

// Result sums up a run.
type Result struct {
	Requests int
	// Events counts the successful logins and refreshes, the setup logins
	// included: each emits one account.logged-in event.
	Events   int
	Elapsed  time.Duration
	Statuses map[int]int // 0: transport errors
	P50, P95 time.Duration
	P99, Max time.Duration
}

// Rate is requests per second.
func (r Result) Rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// String is the summary `latch bench` prints.
func (r Result) String() string {
	var codes []string
	for _, c := range slices.Sorted(maps.Keys(r.Statuses)) {
		label := fmt.Sprint(c)
		if c == 0 {
			label = "errors"
		}
		codes = append(codes, fmt.Sprintf("%s: %d", label, r.Statuses[c]))
	}
	return fmt.Sprintf("%d requests in %s: %.0f req/s; latency p50 %s, p95 %s, p99 %s, max %s; %s",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Rate(), ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), strings.Join(codes, ", "))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// Run makes the load until cfg.Duration has passed or ctx ends, writing a
// line of progress a second to progress (nil: none).
func Run(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	if cfg.Mode != "login" && cfg.Mode != "refresh" {
		return Result{}, fmt.Errorf("mode must be login or refresh, not %q", cfg.Mode)
	}
	if cfg.Clients <= 0 || cfg.Duration <= 0 {
		return Result{}, errors.New("clients and duration must be positive")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients, MaxConnsPerHost: cfg.Clients}}
	if cfg.Users > 0 && strings.Count(cfg.Email, "%") != 1 {
		return Result{}, errors.New("with users, the email must be a pattern with one %d, like user%07d@example.com")
	}
	loginAs := func() map[string]any {
		email := cfg.Email
		if cfg.Users > 0 {
			email = fmt.Sprintf(cfg.Email, rand.IntN(cfg.Users))
		}
		if isUUID(cfg.Account) {
			return map[string]any{"email": email, "password": cfg.Password, "accountId": cfg.Account}
		}
		return map[string]any{"email": email, "password": cfg.Password, "accountAlias": cfg.Account}
	}
	post := func(path string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(cfg.URL, "/")+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return 0, nil
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&m)
		return res.StatusCode, m
	}
	// One login first: a wrong URL or credentials fail at once, clearly.
	if st, m := post("/v3/accounts/login", loginAs()); st != http.StatusOK {
		return Result{}, fmt.Errorf("a first login at %s answered %d %v; check --url, --account, --email and --password", cfg.URL, st, m)
	}

	var setup atomic.Int64 // successful logins outside the timed requests
	setup.Add(1)
	// In refresh mode every client logs in first, before the clock starts:
	// the figures are about rotations, not the logins that set them up.
	tokens := make([]string, cfg.Clients)
	if cfg.Mode == "refresh" {
		var wg sync.WaitGroup
		for i := range tokens {
			wg.Go(func() {
				if st, m := post("/v3/accounts/login", loginAs()); st == http.StatusOK {
					tokens[i], _ = m["refreshToken"].(string)
					setup.Add(1)
				}
			})
		}
		wg.Wait()
	}
	var mu sync.Mutex
	var lat []time.Duration
	statuses := map[int]int{}
	var done atomic.Int64
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Go(func() {
			var mine []time.Duration
			codes := map[int]int{}
			token := tokens[i]
			for runCtx.Err() == nil {
				path, body := "/v3/accounts/login", any(loginAs())
				if cfg.Mode == "refresh" {
					if token == "" {
						if st, m := post("/v3/accounts/login", loginAs()); st == http.StatusOK {
							token, _ = m["refreshToken"].(string)
							setup.Add(1)
						}
						if token == "" {
							time.Sleep(100 * time.Millisecond)
							continue
						}
					}
					path, body = "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": token}
				}
				s := time.Now()
				st, m := post(path, body)
				if runCtx.Err() != nil && st == 0 {
					break // cut off by the end of the run, not a failure
				}
				mine = append(mine, time.Since(s))
				codes[st]++
				done.Add(1)
				if cfg.Mode == "refresh" {
					token, _ = m["refreshToken"].(string)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for c, n := range codes {
				statuses[c] += n
			}
			mu.Unlock()
		})
	}
	var reporter sync.WaitGroup
	if progress != nil {
		reporter.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			last := int64(0)
			for {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
					n := done.Load()
					fmt.Fprintf(progress, "  %3.0fs  %6d req/s  (%d so far)\n", time.Since(start).Seconds(), n-last, n)
					last = n
				}
			}
		})
	}
	wg.Wait()
	cancel()
	reporter.Wait() // no progress line after Run returns
	r := Result{Requests: len(lat), Elapsed: time.Since(start), Statuses: statuses, Events: int(setup.Load()) + statuses[http.StatusOK]}
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
		r.P50, r.P95, r.P99, r.Max = q(0.50), q(0.95), q(0.99), lat[len(lat)-1]
	}
	return r, ctx.Err()
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", c):
			return false
		}
	}
	return true
}
