package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WebhookConfig adds webhook endpoints to a run: slices of the same load
// alternate without and with Endpoints endpoints subscribed to
// account.logged-in, all pointing at a receiver on 127.0.0.1 that this
// process starts, so that the ratio of the two rates is measured on the
// same machine at the same time.
type WebhookConfig struct {
	Endpoints  int
	AdminToken string // to register and remove the endpoints
	Slices     int    // pairs of slices, each cfg.Duration long
	// Drain is how long to wait after a slice for every event to arrive.
	Drain time.Duration
}

// WebhookResult sums up a run with and without endpoints.
type WebhookResult struct {
	Endpoints  int
	Without    []Result // one per slice
	With       []Result
	Expected   int             // events × endpoints
	Delivered  int             // distinct events received, over every endpoint
	Duplicates int             // events received more than once (at least once allows it)
	Lag        []time.Duration // receipt − triggeredAt, every delivery, sorted
	Drained    []time.Duration // from the end of each slice with endpoints to its last event's arrival
	// InSlice is how many of the Expected deliveries had arrived when
	// their slice ended: under load the server gives way to the requests
	// and sends the rest after.
	InSlice int
	// CPU time of the server (from its /metrics) and of this process (the
	// clients and the receiver), without and with endpoints; zero when
	// not measured. With endpoints, the deliveries that arrive after the
	// slice count too.
	ServerCPU, OwnCPU [2]time.Duration
}

// CPURatio is the CPU per request without endpoints over the CPU per
// request with them, server and this process together: the ratio of the
// rates on a machine busy with nothing else (the rates also move with
// whatever else runs). Zero when not measured.
func (r WebhookResult) CPURatio() float64 {
	per := func(rs []Result, cpu time.Duration) float64 {
		n := 0
		for _, x := range rs {
			n += x.Requests
		}
		return cpu.Seconds() / float64(n)
	}
	if r.ServerCPU[0] == 0 || r.OwnCPU[0] == 0 {
		return 0
	}
	return per(r.Without, r.ServerCPU[0]+r.OwnCPU[0]) / per(r.With, r.ServerCPU[1]+r.OwnCPU[1])
}

// Ratio is the rate with endpoints over the rate without, over all slices.
func (r WebhookResult) Ratio() float64 {
	rate := func(rs []Result) float64 {
		var n int
		var d time.Duration
		for _, x := range rs {
			n, d = n+x.Requests, d+x.Elapsed
		}
		return float64(n) / d.Seconds()
	}
	return rate(r.With) / rate(r.Without)
}

// LagAt is the q-quantile of the delivery lag.
func (r WebhookResult) LagAt(q float64) time.Duration {
	if len(r.Lag) == 0 {
		return 0
	}
	return r.Lag[min(len(r.Lag)-1, int(float64(len(r.Lag))*q))]
}

// String is the summary `latch bench --webhook-endpoints` prints.
func (r WebhookResult) String() string {
	var b strings.Builder
	rates := func(rs []Result) string {
		var s []string
		for _, x := range rs {
			s = append(s, fmt.Sprintf("%.0f", x.Rate()))
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(&b, "req/s without endpoints: %s\n", rates(r.Without))
	fmt.Fprintf(&b, "req/s with %d endpoint(s): %s\n", r.Endpoints, rates(r.With))
	fmt.Fprintf(&b, "ratio with/without: %.2f\n", r.Ratio())
	if c := r.CPURatio(); c > 0 {
		per := func(rs []Result, cpu time.Duration) string {
			n := 0
			for _, x := range rs {
				n += x.Requests
			}
			return fmt.Sprintf("%.0f µs", float64(cpu.Microseconds())/float64(n))
		}
		fmt.Fprintf(&b, "CPU per request, server + load and receiver: without %s + %s, with %s + %s; CPU ratio %.2f\n",
			per(r.Without, r.ServerCPU[0]), per(r.Without, r.OwnCPU[0]), per(r.With, r.ServerCPU[1]), per(r.With, r.OwnCPU[1]), c)
	}
	fmt.Fprintf(&b, "webhooks: %d of %d delivered (%d duplicates); lag from triggeredAt p50 %s, p90 %s, p99 %s, max %s",
		r.Delivered, r.Expected, r.Duplicates, ms(r.LagAt(0.5)), ms(r.LagAt(0.9)), ms(r.LagAt(0.99)), ms(r.LagAt(1)))
	var drained []string
	for _, d := range r.Drained {
		drained = append(drained, ms(d))
	}
	fmt.Fprintf(&b, "; last event after each slice's end: %s", strings.Join(drained, ", "))
	if r.Expected > 0 {
		fmt.Fprintf(&b, "; delivered by the slice's end: %.2f", float64(r.InSlice)/float64(r.Expected))
	}
	return b.String()
}

// receiver records each delivery: which endpoint (by path), which event,
// and how late.
type receiver struct {
	mu   sync.Mutex
	seen []map[string]int // per endpoint: webhook-id → deliveries
	lag  []time.Duration
	last time.Time
}

var triggeredKey = []byte(`"triggeredAt":"`)

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := time.Now()
	k, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hook/"))
	lag := time.Duration(-1)
	if i := bytes.Index(body, triggeredKey); i >= 0 {
		rest := body[i+len(triggeredKey):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if at, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
				lag = now.Sub(at)
			}
		}
	}
	rc.mu.Lock()
	if err == nil && k >= 0 && k < len(rc.seen) {
		rc.seen[k][r.Header.Get("webhook-id")]++
	}
	if lag >= 0 {
		rc.lag = append(rc.lag, lag)
	}
	rc.last = now
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// RunWebhooks alternates slices of cfg's load without and with wh.Endpoints
// endpoints (starting with either in turn, so that warming up favours
// neither), waits after each slice with endpoints until every event has
// arrived, and sums it up. The server must deliver to 127.0.0.1
// (LATCH_WEBHOOK_ALLOW_PRIVATE=true).
func RunWebhooks(ctx context.Context, cfg Config, wh WebhookConfig, progress io.Writer) (WebhookResult, error) {
	if wh.Endpoints <= 0 || wh.Slices <= 0 {
		return WebhookResult{}, errors.New("endpoints and slices must be positive")
	}
	if wh.Drain <= 0 {
		wh.Drain = time.Minute
	}
	if progress == nil {
		progress = io.Discard
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return WebhookResult{}, err
	}
	rc := &receiver{}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	admin := &adminClient{base: strings.TrimSuffix(cfg.URL, "/"), token: wh.AdminToken, client: &http.Client{Timeout: 30 * time.Second}}
	tid, err := admin.tenantID(ctx, cfg.Account)
	if err != nil {
		return WebhookResult{}, err
	}
	res := WebhookResult{Endpoints: wh.Endpoints}
	for i := range wh.Slices {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, with := range order {
			srv0, own0 := admin.serverCPU(ctx), ownCPU()
			if !with {
				r, err := Run(ctx, cfg, nil)
				if err != nil {
					return res, err
				}
				res.ServerCPU[0] += admin.serverCPU(ctx) - srv0
				res.OwnCPU[0] += ownCPU() - own0
				res.Without = append(res.Without, r)
				fmt.Fprintf(progress, "  slice %d without endpoints: %.0f req/s\n", i+1, r.Rate())
				continue
			}
			rc.mu.Lock()
			rc.seen = make([]map[string]int, wh.Endpoints)
			for k := range rc.seen {
				rc.seen[k] = map[string]int{}
			}
			rc.mu.Unlock()
			var ids []string
			for k := range wh.Endpoints {
				id, err := admin.createEndpoint(ctx, tid, fmt.Sprintf("http://%s/hook/%d", ln.Addr(), k))
				if err != nil {
					return res, err
				}
				ids = append(ids, id)
			}
			r, err := Run(ctx, cfg, nil)
			if err != nil {
				return res, err
			}
			ended := time.Now()
			rc.mu.Lock()
			for _, m := range rc.seen {
				res.InSlice += min(len(m), r.Events)
			}
			rc.mu.Unlock()
			res.With = append(res.With, r)
			res.Expected += r.Events * wh.Endpoints
			delivered, dups := 0, 0
			for deadline := ended.Add(wh.Drain); ; {
				rc.mu.Lock()
				delivered, dups = 0, 0
				for _, m := range rc.seen {
					delivered += min(len(m), r.Events)
					for _, n := range m {
						dups += n - 1
					}
				}
				last := rc.last
				rc.mu.Unlock()
				if delivered >= r.Events*wh.Endpoints || time.Now().After(deadline) || ctx.Err() != nil {
					res.Drained = append(res.Drained, max(last.Sub(ended), 0))
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			res.ServerCPU[1] += admin.serverCPU(ctx) - srv0
			res.OwnCPU[1] += ownCPU() - own0
			res.Delivered, res.Duplicates = res.Delivered+delivered, res.Duplicates+dups
			fmt.Fprintf(progress, "  slice %d with %d endpoint(s): %.0f req/s; %d of %d events delivered\n",
				i+1, wh.Endpoints, r.Rate(), delivered, r.Events*wh.Endpoints)
			for _, id := range ids {
				if err := admin.deleteEndpoint(ctx, tid, id); err != nil {
					return res, err
				}
			}
		}
	}
	rc.mu.Lock()
	res.Lag = slices.Clone(rc.lag)
	rc.mu.Unlock()
	slices.Sort(res.Lag)
	return res, nil
}

// adminClient registers and removes endpoints through the admin API.
type adminClient struct {
	base, token string
	client      *http.Client
}

func (a *adminClient) do(ctx context.Context, method, path string, body any, want int) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != want {
		return nil, fmt.Errorf("admin API %s %s answered %d %s; check --admin-token", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m, nil
}

// serverCPU is the server's process_cpu_seconds_total from /metrics, or 0.
func (a *adminClient) serverCPU(ctx context.Context) time.Duration {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/metrics", nil)
	if err != nil {
		return 0
	}
	res, err := a.client.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return time.Duration(f * float64(time.Second))
		}
	}
	return 0
}

// tenantID is account's tenant id: account itself, or the tenant whose
// alias it is.
func (a *adminClient) tenantID(ctx context.Context, account string) (string, error) {
	if isUUID(account) {
		return account, nil
	}
	cursor := ""
	for {
		m, err := a.do(ctx, http.MethodGet, "/admin/v1/tenants?limit=500&cursor="+url.QueryEscape(cursor), nil, http.StatusOK)
		if err != nil {
			return "", err
		}
		ts, _ := m["tenants"].([]any)
		for _, t := range ts {
			if t, _ := t.(map[string]any); t["alias"] == account {
				id, _ := t["id"].(string)
				return id, nil
			}
		}
		if cursor, _ = m["next_cursor"].(string); cursor == "" {
			return "", fmt.Errorf("no tenant with the alias %q", account)
		}
	}
}

func (a *adminClient) createEndpoint(ctx context.Context, tid, target string) (string, error) {
	m, err := a.do(ctx, http.MethodPost, "/admin/v1/tenants/"+tid+"/webhooks",
		map[string]any{"url": target, "events": []string{"account.logged-in"}}, http.StatusCreated)
	if err != nil {
		return "", err
	}
	id, _ := m["id"].(string)
	return id, nil
}

func (a *adminClient) deleteEndpoint(ctx context.Context, tid, id string) error {
	_, err := a.do(ctx, http.MethodDelete, "/admin/v1/tenants/"+tid+"/webhooks/"+id, nil, http.StatusNoContent)
	return err
}
