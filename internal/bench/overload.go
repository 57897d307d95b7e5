package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OverloadConfig is the overload scenario: password logins from Clients
// closed-loop clients that resend at once on 429/503 (ignoring
// Retry-After, as a flood or a naive retry loop does), against Baseline
// clients, in alternating slices of Duration each, so that both rates come
// from the same run on the same (shared, noisy) machine.
type OverloadConfig struct {
	Config
	Baseline  int // clients of the baseline slices; default 16
	Slices    int // pairs of slices; default 3
	ServerPID int // when set, the server's peak RSS is read from /proc/PID/status
}

// Tally sums the slices of one kind.
type Tally struct {
	Clients  int
	Elapsed  time.Duration
	Statuses map[int]int // 0: transport errors
	// Shed503 are the latencies of the 503 answers; NoRetryAfter counts
	// 429/503 answers without a Retry-After header.
	Shed503      []time.Duration
	NoRetryAfter int
	Slices       []float64 // goodput of each slice
}

// Goodput is successful logins per second.
func (t Tally) Goodput() float64 { return float64(t.Statuses[http.StatusOK]) / t.Elapsed.Seconds() }

// Quantile503 is the q-quantile of the 503 latencies (0 without any).
func (t Tally) Quantile503(q float64) time.Duration {
	if len(t.Shed503) == 0 {
		return 0
	}
	return t.Shed503[min(len(t.Shed503)-1, int(float64(len(t.Shed503))*q))]
}

// ServerErrors counts 5xx answers other than 503, and transport errors.
func (t Tally) ServerErrors() int {
	n := t.Statuses[0]
	for c, k := range t.Statuses {
		if c >= 500 && c != http.StatusServiceUnavailable {
			n += k
		}
	}
	return n
}

// OverloadResult sums up the scenario.
type OverloadResult struct {
	Baseline, Load Tally
	// PeakRSS is the server's peak resident set in bytes (0: unknown);
	// RSSSource says how it was read.
	PeakRSS   uint64
	RSSSource string
}

// Ratio is the overload goodput over the baseline goodput.
func (r OverloadResult) Ratio() float64 { return r.Load.Goodput() / r.Baseline.Goodput() }

// String is the summary `latch bench` prints.
func (r OverloadResult) String() string {
	var b strings.Builder
	l := r.Load
	fmt.Fprintf(&b, "goodput: %.1f logins/s at %d clients without backoff, %.1f at %d clients\n", l.Goodput(), l.Clients, r.Baseline.Goodput(), r.Baseline.Clients)
	fmt.Fprintf(&b, "overload ratio: %.2f (per slice pair:", r.Ratio())
	for i := range min(len(l.Slices), len(r.Baseline.Slices)) {
		fmt.Fprintf(&b, " %.2f", l.Slices[i]/r.Baseline.Slices[i])
	}
	fmt.Fprintf(&b, ")\n")
	fmt.Fprintf(&b, "503s: %d (%.0f/s), latency p50 %s, p99 %s, max %s; without Retry-After: %d; other 5xx and errors: %d\n",
		l.Statuses[http.StatusServiceUnavailable], float64(l.Statuses[http.StatusServiceUnavailable])/l.Elapsed.Seconds(),
		ms(l.Quantile503(0.5)), ms(l.Quantile503(0.99)), ms(l.Quantile503(1)), l.NoRetryAfter+r.Baseline.NoRetryAfter, l.ServerErrors()+r.Baseline.ServerErrors())
	if r.PeakRSS > 0 {
		fmt.Fprintf(&b, "server peak RSS: %.0f MiB (%s)\n", float64(r.PeakRSS)/(1<<20), r.RSSSource)
	} else {
		fmt.Fprintf(&b, "server peak RSS: unknown (give --server-pid, or expose /metrics)\n")
	}
	return b.String()
}

// RunOverload runs the overload scenario, writing a line per slice to
// progress (nil: none).
func RunOverload(ctx context.Context, cfg OverloadConfig, progress io.Writer) (OverloadResult, error) {
	if cfg.Baseline <= 0 {
		cfg.Baseline = 16
	}
	if cfg.Slices <= 0 {
		cfg.Slices = 3
	}
	if cfg.Clients <= 0 || cfg.Duration <= 0 {
		return OverloadResult{}, errors.New("clients and duration must be positive")
	}
	if progress == nil {
		progress = io.Discard
	}
	body := map[string]any{"email": cfg.Email, "password": cfg.Password, "accountAlias": cfg.Account}
	if isUUID(cfg.Account) {
		body = map[string]any{"email": cfg.Email, "password": cfg.Password, "accountId": cfg.Account}
	}
	payload, _ := json.Marshal(body)
	n := max(cfg.Clients, cfg.Baseline)
	// No client timeout (a timer per request): each slice's context ends
	// whatever is still waiting.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}
	url := strings.TrimSuffix(cfg.URL, "/") + "/v3/accounts/login"
	first, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, _, err := postLogin(first, client, url, payload)
	cancel()
	if err != nil || st != http.StatusOK {
		return OverloadResult{}, fmt.Errorf("a first login at %s answered %d (%v); check --url, --account, --email and --password", cfg.URL, st, err)
	}
	rss := newRSSProbe(cfg.URL, cfg.ServerPID)
	stopRSS := rss.start(ctx)
	res := OverloadResult{Baseline: Tally{Clients: cfg.Baseline, Statuses: map[int]int{}}, Load: Tally{Clients: cfg.Clients, Statuses: map[int]int{}}}
	for i := range 2 * cfg.Slices {
		// Alternate which kind goes first, so that neither always follows
		// the other's backlog.
		load := (i%2 == 0) == (i/2%2 == 0)
		t, clients := &res.Baseline, cfg.Baseline
		if load {
			t, clients = &res.Load, cfg.Clients
		}
		s := runSlice(ctx, client, url, payload, clients, cfg.Duration)
		if ctx.Err() != nil {
			break
		}
		t.add(s)
		fmt.Fprintf(progress, "  slice %d, %3d clients: %6.1f logins/s, %6.0f 503/s\n", i/2+1, clients, s.Goodput(),
			float64(s.Statuses[http.StatusServiceUnavailable])/s.Elapsed.Seconds())
	}
	stopRSS()
	res.PeakRSS, res.RSSSource = rss.peak()
	slices.Sort(res.Load.Shed503)
	slices.Sort(res.Baseline.Shed503)
	return res, ctx.Err()
}

func (t *Tally) add(s Tally) {
	t.Elapsed += s.Elapsed
	for c, n := range s.Statuses {
		t.Statuses[c] += n
	}
	t.Shed503 = append(t.Shed503, s.Shed503...)
	t.NoRetryAfter += s.NoRetryAfter
	t.Slices = append(t.Slices, s.Goodput())
}

// runSlice runs clients closed-loop clients for d. An answer cut off by
// the end of the slice is not counted (its client is gone, as the server
// sees it too).
func runSlice(ctx context.Context, client *http.Client, url string, payload []byte, clients int, d time.Duration) Tally {
	sliceCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	out := Tally{Clients: clients, Statuses: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			codes := map[int]int{}
			var shed []time.Duration
			noRetry := 0
			l, err := newLoginRequest(sliceCtx, url, payload)
			if err != nil {
				return
			}
			for sliceCtx.Err() == nil {
				s := time.Now()
				st, retry, err := l.do(client)
				if sliceCtx.Err() != nil {
					break
				}
				if err != nil {
					st = 0
				}
				codes[st]++
				if st == http.StatusServiceUnavailable {
					shed = append(shed, time.Since(s))
				}
				if (st == http.StatusServiceUnavailable || st == http.StatusTooManyRequests) && retry == "" {
					noRetry++
				}
			}
			mu.Lock()
			for c, n := range codes {
				out.Statuses[c] += n
			}
			out.Shed503 = append(out.Shed503, shed...)
			out.NoRetryAfter += noRetry
			mu.Unlock()
		})
	}
	wg.Wait()
	out.Elapsed = min(time.Since(start), d)
	return out
}

// postLogin sends one login and reads the answer without decoding it: the
// load generator shares the machine's cores with the server, so it does
// as little per request as it can.
func postLogin(ctx context.Context, client *http.Client, url string, payload []byte) (status int, retryAfter string, err error) {
	l, err := newLoginRequest(ctx, url, payload)
	if err != nil {
		return 0, "", err
	}
	return l.do(client)
}

// loginRequest is one client's login, built once and sent again and again
// (net/http allows a request to be reused once its answer's body is
// closed): no URL parsing or header map per request.
type loginRequest struct {
	req     *http.Request
	body    *bytes.Reader
	payload []byte
}

func newLoginRequest(ctx context.Context, url string, payload []byte) (*loginRequest, error) {
	l := &loginRequest{body: bytes.NewReader(payload), payload: payload}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, l.body)
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.GetBody = nil
	l.req = req
	return l, nil
}

func (l *loginRequest) do(client *http.Client) (status int, retryAfter string, err error) {
	l.body.Reset(l.payload)
	l.req.Body = io.NopCloser(l.body)
	res, err := client.Do(l.req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Retry-After"), nil
}

// rssProbe finds the server's peak resident set: VmHWM from /proc when
// the server is on this machine and its pid is known, else the highest
// process_resident_memory_bytes seen on /metrics, sampled every 200 ms.
type rssProbe struct {
	pid     int
	metrics string
	max     atomic.Uint64
	done    chan struct{}
}

func newRSSProbe(baseURL string, pid int) *rssProbe {
	return &rssProbe{pid: pid, metrics: strings.TrimSuffix(baseURL, "/") + "/metrics"}
}

func (p *rssProbe) start(ctx context.Context) (stop func()) {
	if p.pid > 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		client := &http.Client{Timeout: 2 * time.Second}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := scrapeRSS(ctx, client, p.metrics); ok && v > p.max.Load() {
				p.max.Store(v)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-p.done }
}

func (p *rssProbe) peak() (uint64, string) {
	if p.pid > 0 {
		if v, err := vmHWM(p.pid); err == nil {
			return v, fmt.Sprintf("VmHWM of pid %d", p.pid)
		}
		return 0, ""
	}
	if v := p.max.Load(); v > 0 {
		return v, "highest process_resident_memory_bytes on /metrics, sampled every 200 ms"
	}
	return 0, ""
}

func scrapeRSS(ctx context.Context, client *http.Client, url string) (uint64, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := client.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return uint64(f), err == nil
		}
	}
	return 0, false
}

// vmHWM reads a process's peak resident set from /proc/PID/status.
func vmHWM(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}
