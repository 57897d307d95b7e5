package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/webhook"
)

// receiver is a webhook endpoint on 127.0.0.1 that answers with status()
// and records what it got.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	status  atomic.Int32
	delay   atomic.Int64 // nanoseconds to wait before answering
	arrived chan struct{}
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{arrived: make(chan struct{}, 1000)}
	r.status.Store(http.StatusNoContent)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		delay := time.Duration(r.delay.Load())
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), b})
		r.mu.Unlock()
		r.arrived <- struct{}{} // on arrival, so that a test can change the next answer
		time.Sleep(delay)
		w.WriteHeader(int(r.status.Load()))
		io.WriteString(w, "ack")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	for range n {
		select {
		case <-r.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("waited 10 s for webhook %d of %d", len(r.got)+1, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type hookEnv struct {
	*httpapitest.Env
	tenant string
	disp   *webhook.Dispatcher
}

// setupHooks starts a server and a dispatcher delivering to private
// addresses unless guarded, with fast retries, on the Env's clock: an
// endpoint failing for an hour by that clock is suspended (a test moves
// the clock to get there). The options change the dispatcher before it
// runs.
func setupHooks(t *testing.T, guarded bool, timeout time.Duration, options ...func(*webhook.Dispatcher)) *hookEnv {
	h := newHooks(t)
	h.start(t, guarded, timeout, options...)
	return h
}

// newHooks is setupHooks without the dispatcher, for a test that prepares
// endpoints before any worker can pick them up (start runs it).
func newHooks(t *testing.T) *hookEnv {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	h := &hookEnv{Env: env, tenant: env.MustTenant(t, "hooks")}
	env.MustUser(t, h.tenant, map[string]any{"email": "ada@example.com", "password": "correct horse battery", "first_name": "Ada"})
	return h
}

func (h *hookEnv) start(t *testing.T, guarded bool, timeout time.Duration, options ...func(*webhook.Dispatcher)) {
	h.disp = h.Deliver(t, timeout, append([]func(*webhook.Dispatcher){func(d *webhook.Dispatcher) {
		d.Client = webhook.Guard{AllowPrivate: !guarded}.Client(timeout)
		d.RetryBase, d.SuspendAfter, d.Poll = 50*time.Millisecond, time.Hour, 20*time.Millisecond
	}}, options...)...)
}

func (h *hookEnv) endpoint(t *testing.T, url string, extra map[string]any) (id, secret string) {
	t.Helper()
	body := map[string]any{"url": url, "events": []string{"account.logged-in"}}
	for k, v := range extra {
		body[k] = v
	}
	r := h.Admin(t, "POST", "/admin/v1/tenants/"+h.tenant+"/webhooks", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["id"].(string), m["secret"].(string)
}

func (h *hookEnv) login(t *testing.T) {
	t.Helper()
	r := h.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": h.tenant, "email": "ada@example.com", "password": "correct horse battery"})
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
}

// delivery polls the endpoint's newest delivery until ok accepts it.
func (h *hookEnv) delivery(t *testing.T, endpoint string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := h.Admin(t, "GET", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+endpoint+"/deliveries", nil).JSON(t)["deliveries"].([]any)
		if len(ds) > 0 && ok(ds[0].(map[string]any)) {
			return ds[0].(map[string]any)
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery never reached the expected state: %v", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *hookEnv) endpointStatus(t *testing.T, id string) string {
	return h.Admin(t, "GET", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+id, nil).JSON(t)["status"].(string)
}

// Ensure a login's event arrives signed so that the Standard Webhooks
// reference library verifies it, with the accounts-v3 user shape.
func TestWebhookDeliveredAndVerifies(t *testing.T) {
	h := setupHooks(t, false, 2*time.Second)
	rcv := newReceiver(t)
	id, secret := h.endpoint(t, rcv.URL, nil)
	h.login(t)
	got := rcv.wait(t, 1)[0]
	wh, _ := standardwebhooks.NewWebhook(secret)
	if err := wh.Verify(got.body, got.header); err != nil {
		t.Fatalf("reference library: %v (headers %v)", err, got.header)
	}
	var body map[string]any
	json.Unmarshal(got.body, &body)
	data, _ := body["data"].(map[string]any)
	if body["event"] != "account.logged-in" || data["email"] != "ada@example.com" || data["firstName"] != "Ada" || body["triggeredAt"] == "" {
		t.Fatalf("body: %s", got.body)
	}
	for _, k := range []string{"id", "createdAt", "updatedAt", "name", "firstName", "lastName", "email", "role", "twoFactorEnabled",
		"googleSsoEnabled", "lastLoginAt", "company", "allowCustomerPortalAccess", "roles", "lastSeenAt", "organizationId",
		"organization", "resellerId", "reseller", "metadata", "tags", "emailPreference"} {
		if _, ok := data[k]; !ok {
			t.Errorf("data lacks %s", k)
		}
	}
	if got.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("content type %q", got.header.Get("Content-Type"))
	}
	if d := h.delivery(t, id, func(d map[string]any) bool { return d["status"] == "delivered" }); d["last_status_code"] != 204.0 {
		t.Fatalf("delivery: %v", d)
	}
}

// Ensure the accounts-v3 signing mode signs the raw body with the secret.
func TestWebhookAccountsV3Signing(t *testing.T) {
	h := setupHooks(t, false, 2*time.Second)
	rcv := newReceiver(t)
	_, secret := h.endpoint(t, rcv.URL, map[string]any{"signing": "accounts-v3"})
	h.login(t)
	got := rcv.wait(t, 1)[0]
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(got.body)
	if got.header.Get("Webhook-Signature") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("signature %q does not match the body", got.header.Get("Webhook-Signature"))
	}
}

// Ensure 500s and timeouts are retried with the same webhook-id and body,
// every attempt is logged, and the endpoint's health follows.
func TestWebhookRetries(t *testing.T) {
	h := setupHooks(t, false, 300*time.Millisecond)
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusInternalServerError)
	id, _ := h.endpoint(t, rcv.URL, nil)
	h.login(t)
	first := rcv.wait(t, 1)[0]
	rcv.delay.Store(int64(time.Second)) // the next attempt times out
	rcv.wait(t, 1)
	rcv.delay.Store(0)
	rcv.status.Store(http.StatusOK)
	all := rcv.wait(t, 1)
	last := all[len(all)-1]
	if last.header.Get("webhook-id") != first.header.Get("webhook-id") || string(last.body) != string(first.body) {
		t.Fatal("a retry changed the webhook-id or the body")
	}
	// The attempt is recorded after the answer.
	d := h.delivery(t, id, func(d map[string]any) bool { return d["status"] == "delivered" })
	log := d["log"].([]any)
	if d["status"] != "delivered" || d["attempts"] != 3.0 || len(log) != 3 {
		t.Fatalf("delivery after retries: %v", d)
	}
	errs := log[2].(map[string]any)["error"].(string) + " | " + log[1].(map[string]any)["error"].(string)
	if !strings.Contains(errs, "HTTP 500") || !strings.Contains(errs, "Timeout") && !strings.Contains(errs, "deadline") {
		t.Fatalf("attempt errors: %s", errs)
	}
	if s := h.endpointStatus(t, id); s != "healthy" {
		t.Fatalf("status after success: %s", s)
	}
}

// Ensure an endpoint is suspended once its deliveries have failed without
// a success for SuspendAfter (by the dispatcher's clock, which the test
// moves), keeps its events queued, and delivers them once re-enabled. (That
// a suspended endpoint is never claimed is the conformance suite's.)
func TestWebhookSuspendAndReenable(t *testing.T) {
	h := setupHooks(t, false, time.Second)
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusServiceUnavailable)
	id, _ := h.endpoint(t, rcv.URL, nil)
	h.login(t)
	rcv.wait(t, 2) // the first attempt and a retry: failing since then
	if s := h.endpointStatus(t, id); s != "unhealthy" {
		t.Fatalf("status after failures within the hour: %s", s)
	}
	h.Advance(2 * time.Hour)
	h.disp.Wake()
	for deadline := time.Now().Add(30 * time.Second); h.endpointStatus(t, id) != "suspended"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not suspended: %s", h.endpointStatus(t, id))
		}
	}
	for len(rcv.arrived) > 0 { // attempts before the suspension
		<-rcv.arrived
	}
	h.login(t) // queued while suspended
	if ds := h.deliveries(t, id); len(ds) != 2 || ds[0]["status"] != "pending" || ds[1]["status"] != "pending" {
		t.Fatalf("deliveries of the suspended endpoint: %v", ds)
	}
	rcv.status.Store(http.StatusOK)
	if r := h.Admin(t, "PATCH", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+id, map[string]any{"status": "healthy"}); r.Status != http.StatusOK {
		t.Fatalf("re-enable: %d %s", r.Status, r.Body)
	}
	h.disp.Wake()
	rcv.wait(t, 2)
}

// Ensure the guard refuses 127.0.0.1 unless private targets are allowed,
// and the refusal is in the delivery log.
func TestWebhookGuardRefusesLoopback(t *testing.T) {
	h := setupHooks(t, true, time.Second)
	rcv := newReceiver(t)
	id, _ := h.endpoint(t, rcv.URL, nil)
	h.login(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := h.Admin(t, "GET", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+id+"/deliveries", nil).JSON(t)["deliveries"].([]any)
		if len(ds) == 1 {
			if e := ds[0].(map[string]any)["last_error"].(string); strings.Contains(e, "LATCH_WEBHOOK_ALLOW_PRIVATE") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged: %v", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(rcv.arrived); n != 0 {
		t.Fatalf("the guarded dispatcher reached 127.0.0.1 %d times", n)
	}
}

// Ensure bad endpoint input is a 400 naming the field.
func TestWebhookAdminValidation(t *testing.T) {
	h := setupHooks(t, false, time.Second)
	for field, body := range map[string]map[string]any{
		"url":     {"url": "ftp://x", "events": []string{"account.logged-in"}},
		"events":  {"url": "https://hooks.example", "events": []string{"account.deleted"}},
		"signing": {"url": "https://hooks.example", "events": []string{"account.logged-in"}, "signing": "md5"},
		"status":  {"url": "https://hooks.example", "events": []string{"account.logged-in"}, "status": "suspended"},
	} {
		r := h.Admin(t, "POST", "/admin/v1/tenants/"+h.tenant+"/webhooks", body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s", field, r.Status, r.Body)
		}
	}
}

// BenchmarkLoginToDelivery logs in at a steady rate (one login every 20 ms,
// b.N logins) with an endpoint subscribed, and reports the time from each
// login's event (its triggeredAt, written in the login's transaction) to
// the webhook's arrival at a receiver on 127.0.0.1. Same process, same
// clock.
//
//	go test -run '^$' -bench LoginToDelivery -benchtime 200x ./internal/httpapi/
func BenchmarkLoginToDelivery(b *testing.B) {
	env := httpapitest.New(b, httpapitest.CheapArgon)
	tid := env.MustTenant(b, "bench")
	env.MustUser(b, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	env.Deliver(b, 5*time.Second)

	var mu sync.Mutex
	var lat []time.Duration
	got := make(chan struct{}, b.N+10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var body struct {
			TriggeredAt time.Time `json:"triggeredAt"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		lat = append(lat, at.Sub(body.TriggeredAt))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		got <- struct{}{}
	}))
	defer rcv.Close()
	if r := env.Admin(b, "POST", "/admin/v1/tenants/"+tid+"/webhooks", map[string]any{"url": rcv.URL, "events": []string{"account.logged-in"}}); r.Status != http.StatusCreated {
		b.Fatalf("endpoint: %d %s", r.Status, r.Body)
	}
	b.ResetTimer()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range b.N {
		<-tick.C
		if r := env.Do(b, "POST", "/v3/accounts/login", map[string]any{"accountId": tid, "email": "ada@example.com", "password": "correct horse battery"}); r.Status != http.StatusOK {
			b.Fatalf("login: %d", r.Status)
		}
	}
	for range b.N {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("deliveries missing")
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(lat)), "delivered")
}

// countingTransport counts the requests in flight to each host, as the
// dispatcher's client sees them, and the most seen at a request's start.
type countingTransport struct {
	next   http.RoundTripper
	mu     sync.Mutex
	now    map[string]int
	starts map[string][]int // concurrency at each start, the start included
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.now[r.URL.Host]++
	c.starts[r.URL.Host] = append(c.starts[r.URL.Host], c.now[r.URL.Host])
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.now[r.URL.Host]--
		c.mu.Unlock()
	}()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) seen(host string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.starts[host])
}

// counting is a setupHooks option that wraps the dispatcher's client.
func counting(c *countingTransport) func(*webhook.Dispatcher) {
	return func(d *webhook.Dispatcher) {
		c.next, c.now, c.starts = d.Client.Transport, map[string]int{}, map[string][]int{}
		d.Client.Transport = c
	}
}

// Ensure one slow receiver holds up only itself: with a receiver taking
// 9 s per request and 20 events pending for it, another tenant's receiver
// gets each of its events within 3 s of the login (a bound on scheduling,
// not on speed: normally milliseconds), and the slow one never has more
// than 4 requests in flight.
func TestWebhookSlowReceiverHoldsUpOnlyItself(t *testing.T) {
	sends := &countingTransport{}
	h := setupHooks(t, false, 15*time.Second, counting(sends))
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(9 * time.Second):
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { close(release); slow.Close() }) // before the dispatcher stops
	h.endpoint(t, slow.URL, nil)
	for range 20 {
		h.login(t)
	}

	other := h.MustTenant(t, "other")
	h.MustUser(t, other, map[string]any{"email": "eve@example.com", "password": "correct horse battery"})
	type arrival struct {
		event string
		lag   time.Duration
	}
	arrived := make(chan arrival, 100)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			TriggeredAt time.Time `json:"triggeredAt"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		arrived <- arrival{r.Header.Get("webhook-id"), time.Since(body.TriggeredAt)}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(fast.Close)
	if r := h.Admin(t, "POST", "/admin/v1/tenants/"+other+"/webhooks", map[string]any{"url": fast.URL, "events": []string{"account.logged-in"}}); r.Status != http.StatusCreated {
		t.Fatalf("endpoint: %d %s", r.Status, r.Body)
	}
	var worst time.Duration
	for i := range 5 {
		if r := h.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": other, "email": "eve@example.com", "password": "correct horse battery"}); r.Status != http.StatusOK {
			t.Fatalf("login: %d", r.Status)
		}
		select {
		case a := <-arrived:
			if a.lag > 3*time.Second {
				t.Fatalf("event %d reached the other tenant's receiver %v after its login", i, a.lag)
			}
			worst = max(worst, a.lag)
		case <-time.After(30 * time.Second):
			t.Fatalf("event %d never reached the other tenant's receiver", i)
		}
	}
	u, _ := url.Parse(slow.URL)
	starts := sends.seen(u.Host)
	if len(starts) == 0 || slices.Max(starts) > 4 {
		t.Fatalf("in flight to the slow receiver at each start: %v, want between 1 and 4", starts)
	}
	t.Logf("other tenant: worst %v from login to delivery; slow receiver: %d requests started, at most %d in flight", worst, len(starts), slices.Max(starts))
}

// Ensure an endpoint whose sends keep timing out is slowed down to one
// send at a time once it is unhealthy.
func TestWebhookTimingOutEndpointSlowedDown(t *testing.T) {
	sends := &countingTransport{}
	h := setupHooks(t, false, 200*time.Millisecond, counting(sends), func(d *webhook.Dispatcher) { d.SuspendAfter = time.Hour })
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	id, _ := h.endpoint(t, hang.URL, nil)
	for range 10 {
		h.login(t)
	}
	for deadline := time.Now().Add(30 * time.Second); h.endpointStatus(t, id) != "unhealthy"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never unhealthy")
		}
	}
	u, _ := url.Parse(hang.URL)
	// Up to 4 sends may start between the first failure's record and the
	// worker taking it in; every later one starts alone.
	from := len(sends.seen(u.Host)) + 4
	for deadline := time.Now().Add(30 * time.Second); len(sends.seen(u.Host)) < from+5; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d sends after it became unhealthy", len(sends.seen(u.Host))-from)
		}
	}
	starts := sends.seen(u.Host)
	if later := starts[from:]; slices.Max(later) != 1 {
		t.Fatalf("in flight at each start once unhealthy: %v (before: %v)", later, starts[:from])
	}
	if slices.Max(starts) > 4 {
		t.Fatalf("more than 4 in flight: %v", starts)
	}
}

// deliveries lists an endpoint's deliveries, newest first.
func (h *hookEnv) deliveries(t *testing.T, endpoint string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range h.Admin(t, "GET", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+endpoint+"/deliveries", nil).JSON(t)["deliveries"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// Ensure successful deliveries cost no row yet are listed: every event is
// listed delivered with one attempt, and only a sample of them (the first
// here) carries its attempt's log.
func TestWebhookDeliveriesListedWithoutRows(t *testing.T) {
	h := setupHooks(t, false, 2*time.Second)
	rcv := newReceiver(t)
	id, _ := h.endpoint(t, rcv.URL, nil)
	for range 5 {
		h.login(t)
	}
	rcv.wait(t, 5)
	var ds []map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds = h.deliveries(t, id)
		done := len(ds) == 5
		for _, d := range ds {
			done = done && d["status"] == "delivered"
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %v", ds)
		}
	}
	logged := 0
	for _, d := range ds {
		if d["attempts"] != 1.0 || d["next_attempt_at"] != nil || d["event"] != "account.logged-in" {
			t.Fatalf("delivery: %v", d)
		}
		if log := d["log"].([]any); len(log) > 0 {
			logged++
			if d["last_status_code"] != 204.0 || log[0].(map[string]any)["status_code"] != 204.0 {
				t.Fatalf("sampled delivery: %v", d)
			}
		}
	}
	if logged != 1 {
		t.Fatalf("%d deliveries logged, want the one sample: %v", logged, ds)
	}
}

// Ensure event retention keeps what an endpoint has yet to deliver: with
// one tenant's endpoint suspended, pruning far in the future removes the
// other tenant's events but keeps the suspended endpoint's (listed as
// pending), which are delivered once it is re-enabled, and pruned after.
func TestEventRetentionKeepsUndelivered(t *testing.T) {
	// The endpoint is suspended before the dispatcher starts: a worker
	// started for it while it was healthy would deliver with what it read
	// then (an endpoint is suspended by its own worker, never under it).
	h := newHooks(t)
	rcv := newReceiver(t)
	id, _ := h.endpoint(t, rcv.URL, nil)
	w, _ := h.Store.GetWebhook(context.Background(), h.tenant, id)
	w.Status = "suspended"
	if err := h.Store.UpdateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	h.start(t, false, time.Second)
	other := h.MustTenant(t, "other")
	h.MustUser(t, other, map[string]any{"email": "eve@example.com", "password": "correct horse battery"})
	h.login(t)
	h.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": other, "email": "eve@example.com", "password": "correct horse battery"})
	events := func(tid string) int {
		return len(h.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/events?type=account.logged-in", nil).JSON(t)["events"].([]any))
	}
	if events(h.tenant) != 1 || events(other) != 1 {
		t.Fatalf("events before pruning: %d, %d", events(h.tenant), events(other))
	}
	later := time.Now().Add(100 * 24 * time.Hour) // past the 90-day default
	h.disp.Prune(context.Background(), later)
	if events(other) != 0 {
		t.Fatal("an old event was kept")
	}
	if events(h.tenant) != 1 {
		t.Fatal("an event the suspended endpoint has yet to deliver was pruned")
	}
	if ds := h.deliveries(t, id); len(ds) != 1 || ds[0]["status"] != "pending" || ds[0]["attempts"] != 0.0 {
		t.Fatalf("deliveries of the suspended endpoint: %v", ds)
	}
	if r := h.Admin(t, "PATCH", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+id, map[string]any{"status": "healthy"}); r.Status != http.StatusOK {
		t.Fatalf("re-enable: %d %s", r.Status, r.Body)
	}
	h.disp.Wake()
	rcv.wait(t, 1)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		h.disp.Prune(context.Background(), later)
		if events(h.tenant) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivered event was never pruned")
		}
	}
}

// Ensure a deleted endpoint is sent nothing more: its worker reads no
// event once the endpoint is gone, while another endpoint of the tenant
// gets the later events.
func TestWebhookDeletedEndpointGetsNothingMore(t *testing.T) {
	h := setupHooks(t, false, 2*time.Second)
	gone, kept := newReceiver(t), newReceiver(t)
	id, _ := h.endpoint(t, gone.URL, nil)
	h.endpoint(t, kept.URL, nil)
	h.login(t)
	gone.wait(t, 1)
	kept.wait(t, 1)
	if r := h.Admin(t, "DELETE", "/admin/v1/tenants/"+h.tenant+"/webhooks/"+id, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.Status)
	}
	for range 3 {
		h.login(t)
	}
	kept.wait(t, 3)
	if n := len(gone.arrived); n != 0 {
		t.Fatalf("%d deliveries to a deleted endpoint", n)
	}
}
