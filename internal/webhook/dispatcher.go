package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/identity"
)

// Limits of one delivery.
const (
	Timeout         = 10 * time.Second
	MaxResponseRead = 64 << 10 // bytes of an answer read at most
	excerptLen      = 1 << 10  // bytes of an answer kept in the delivery log
)

// Dispatcher delivers each endpoint's events by walking a cursor over the
// event log. An instance leases an endpoint (not each delivery), reads the
// events after its cursor, sends them with a few in flight, and saves the
// cursor now and then at the highest point below which every event is
// settled: delivered, or failed and written down as a retry. A delivered
// event thus costs no write at all; a crash re-sends what came after the
// saved cursor, with the same webhook-id (at least once).
//
// Fairness: each endpoint has its own worker with at most InFlight sends
// (one while it is failing), and every send waits for one of Sends
// overall slots in FIFO order, so endpoints with work take turns and a
// slow receiver holds up only itself.
type Dispatcher struct {
	Store  identity.DispatchStore
	Secret func(*identity.WebhookEndpoint) (string, error)
	// Render fills in the Payload of each delivery: the body as the event
	// is first sent, kept unchanged for its retries.
	Render func(ctx context.Context, ds []*identity.Delivery) error
	Client *http.Client // Guard.Client(Timeout) in production
	// RetryBase is the first retry delay; later ones double. Default 5 s.
	RetryBase time.Duration
	// SuspendAfter is how long an endpoint's deliveries fail without a
	// single success before it is suspended. Default 72 h.
	SuspendAfter time.Duration
	InFlight     int           // sends in flight per endpoint; default 4
	Sends        int           // sends in flight overall; default 256
	Poll         time.Duration // longest wait before looking for work without a wake-up; default 1 s
	// Spacing is the shortest time between two looks for endpoints with
	// work, and between two reads of one endpoint's events: under a stream
	// of logins, events are read in batches rather than one by one.
	// Default 10 ms.
	Spacing time.Duration
	// Lease is how long an endpoint stays leased to this instance without
	// a renewal (renewed every third of it): after a crash, another
	// instance (or the restarted one) takes over when it ends. Default 10 s.
	Lease          time.Duration
	Retention      time.Duration // settled delivery rows are kept this long; default 30 days
	EventRetention time.Duration // events (the audit log) are kept this long; default 90 days
	// SampleEvery is how often one successful first attempt per endpoint
	// is written to the delivery log (every failure always is). Default 1 min.
	SampleEvery time.Duration
	Logger      *slog.Logger
	// Now is the clock of every time the dispatcher records or compares
	// with stored times (attempts, retries, health, leases, retention);
	// nil: time.Now. Pacing and the length of a send are measured on the
	// real clock.
	Now func() time.Time
	// Observe, when set, is told each attempt's outcome ("delivered",
	// "failed", "retry") and, for deliveries, the time from the event.
	Observe func(outcome string, sinceEvent time.Duration)
	// Requests, when set, counts the server's requests. While more than
	// BusyAt (default GOMAXPROCS) are in flight, the sends of all
	// endpoints together start at most BusyPace (default 2) for each
	// request served: logins keep most of the processors, and deliveries
	// fall behind and catch up after (see yield).
	Requests *Requests
	BusyAt   int
	BusyPace float64

	once     sync.Once
	owner    string
	wake     chan struct{}
	slots    chan struct{}
	pace     pacer
	payloads *payloadCache
	mu       sync.Mutex
	workers  map[string]*worker
	sampled  map[string]time.Time // endpoint → its last success written down
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.owner = identity.NewID()
		d.wake = make(chan struct{}, 1)
		d.workers = map[string]*worker{}
		d.sampled = map[string]time.Time{}
		d.payloads = newPayloadCache(4096)
		if d.RetryBase <= 0 {
			d.RetryBase = 5 * time.Second
		}
		if d.SuspendAfter <= 0 {
			d.SuspendAfter = 72 * time.Hour
		}
		if d.InFlight <= 0 {
			d.InFlight = 4
		}
		if d.Sends <= 0 {
			d.Sends = 256
		}
		d.slots = make(chan struct{}, d.Sends)
		if d.BusyAt <= 0 {
			d.BusyAt = runtime.GOMAXPROCS(0)
		}
		if d.BusyPace <= 0 {
			d.BusyPace = 2
		}
		if d.Requests != nil {
			d.Requests.init()
		}
		if d.Poll <= 0 {
			d.Poll = time.Second
		}
		if d.Spacing <= 0 {
			d.Spacing = 10 * time.Millisecond
		}
		if d.Lease <= 0 {
			d.Lease = 10 * time.Second
		}
		if d.Retention <= 0 {
			d.Retention = 30 * 24 * time.Hour
		}
		if d.EventRetention <= 0 {
			d.EventRetention = 90 * 24 * time.Hour
		}
		if d.SampleEvery <= 0 {
			d.SampleEvery = time.Minute
		}
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
	})
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// giveUp is how long a delivery is retried.
func (d *Dispatcher) giveUp() time.Duration { return max(GiveUpAfter, d.SuspendAfter) }

// Wake tells the dispatcher that events were written; it never blocks.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// claimLimit is how many endpoints one look leases at most.
const claimLimit = 100

// Run delivers until ctx ends, then lets the sends in flight finish (each
// is bounded by the client's timeout), saves every cursor, gives the
// leases up and returns.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { d.pruneLoop(ctx) })
	var looked time.Time
	look := true // after a wake-up or the poll
	for ctx.Err() == nil {
		// While workers run, events are theirs to find (they are poked at
		// once): looking for other endpoints with work on every wake-up
		// (every login) would cost a query each time for nothing.
		every := d.Spacing
		if d.running() > 0 {
			every = 10 * d.Spacing
		}
		wait := d.Poll
		if look {
			if wait = every - time.Since(looked); wait <= 0 {
				looked, look = time.Now(), false
				eps, err := d.Store.ClaimEndpoints(ctx, d.owner, d.now(), d.Lease, claimLimit)
				if err != nil {
					d.logErr(ctx, "claim endpoints", err)
				}
				for _, ep := range eps {
					d.mu.Lock()
					running := d.workers[ep.ID] != nil // its lease ran out under it; it renews it
					var w *worker
					if !running {
						w = newWorker(d, ep)
						d.workers[ep.ID] = w
					}
					d.mu.Unlock()
					if w != nil {
						wg.Go(func() { w.run(ctx) })
					}
				}
				wait = d.Poll
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-d.wake:
			d.pokeWorkers()
			look = true
		case <-t.C:
			look = true
		}
		t.Stop()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// sample says whether a success of the endpoint at now is one to write
// down: one a SampleEvery, whichever worker (they come and go) sends it.
func (d *Dispatcher) sample(endpointID string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.sampled[endpointID]) < d.SampleEvery {
		return false
	}
	if len(d.sampled) > 10_000 { // endpoints come and go
		clear(d.sampled)
	}
	d.sampled[endpointID] = now
	return true
}

// running is how many endpoint workers run.
func (d *Dispatcher) running() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.workers)
}

// pokeWorkers tells the endpoint workers that wait for new events that
// events were written (the others read again by themselves).
func (d *Dispatcher) pokeWorkers() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		if !w.listening.Load() {
			continue
		}
		select {
		case w.poke <- struct{}{}:
		default:
		}
	}
}

func (d *Dispatcher) logErr(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		d.Logger.Warn("webhooks: "+what, "err", err)
	}
}

// pruneLoop applies the retention settings a minute after start, then
// hourly.
func (d *Dispatcher) pruneLoop(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.Prune(ctx, d.now())
		t.Reset(time.Hour)
	}
}

// pruneBatch is how many rows one pruning statement deletes: small, so
// that it holds SQLite's writer (or PostgreSQL's locks) only briefly
// between logins.
const pruneBatch = 500

// Prune deletes settled delivery rows older than Retention and events
// older than EventRetention (except those an endpoint has yet to deliver),
// in small batches with pauses between them, off the request path.
func (d *Dispatcher) Prune(ctx context.Context, now time.Time) {
	d.init()
	total := 0
	for ctx.Err() == nil {
		n, err := d.Store.PruneDeliveries(ctx, now.Add(-d.Retention), pruneBatch)
		total += n
		if err != nil {
			d.logErr(ctx, "prune deliveries", err)
		}
		if err != nil || n < pruneBatch {
			break
		}
		sleep(ctx, 20*time.Millisecond)
	}
	if total > 0 {
		d.Logger.Info("webhooks: pruned old deliveries", "count", total, "retention", d.Retention)
	}
	total, after := 0, ""
	for ctx.Err() == nil {
		n, next, err := d.Store.PruneEvents(ctx, now.Add(-d.EventRetention), after, pruneBatch)
		total += n
		if err != nil {
			d.logErr(ctx, "prune events", err)
		}
		if err != nil || next == "" {
			break
		}
		after = next
		sleep(ctx, 20*time.Millisecond)
	}
	if total > 0 {
		d.Logger.Info("pruned old events", "count", total, "retention", d.EventRetention)
	}
}

// result is how a send ended, reported to its endpoint's worker.
type result struct {
	item    *item              // a stream event; nil for a retry
	retry   *identity.Delivery // a retry; nil for a stream event
	health  *identity.EndpointHealth
	err     error     // the attempt could not be written down: send it again
	next    time.Time // a retry's next attempt, when it has one
	success bool
}

// attempt sends dl to the endpoint (a snapshot the worker owns) and
// records it when it failed or remember is set (a retry, a sample, or an
// endpoint whose health a success changes). It runs on its own context: a
// shutdown lets it finish rather than leave a sent but unrecorded attempt.
func (d *Dispatcher) attempt(ep *identity.WebhookEndpoint, sg *signer, dl *identity.Delivery, remember bool) (res result) {
	ctx := context.Background()
	d.yield()
	d.slots <- struct{}{}
	start, began := d.now(), time.Now()
	status, excerpt, err := d.post(ctx, ep, sg, dl.EventID, dl.Payload, start, remember)
	took := time.Since(began)
	<-d.slots
	errText := ""
	if err != nil {
		errText = err.Error()
	} else if status < 200 || status > 299 {
		errText = fmt.Sprintf("HTTP %d", status)
	}
	res.success = errText == ""
	outcome := "delivered"
	if !res.success || remember {
		rec := &identity.AttemptRecord{Delivery: *dl, SuspendAfter: d.SuspendAfter, RecoveredAfter: d.RetryBase,
			Attempt: identity.DeliveryAttempt{DeliveryID: dl.ID, At: start, StatusCode: status, Duration: took, Error: errText, Response: excerpt}}
		rec.Delivery.Status, rec.Delivery.LastStatusCode, rec.Delivery.LastError, rec.Delivery.UpdatedAt = identity.DeliveryDelivered, status, errText, start
		if !res.success {
			next, ok := NextAttempt(dl.EventAt, start, dl.Attempts+1, d.RetryBase, d.giveUp())
			rec.Delivery.Status, rec.Delivery.NextAttemptAt, outcome = identity.DeliveryPending, next, "retry"
			if !ok {
				rec.Delivery.Status, outcome = identity.DeliveryFailed, "failed"
			}
			res.next = next
			rec.RetryAt = start.Add(Backoff(ep.ConsecutiveFailures+1, d.RetryBase))
			d.Logger.Info("webhook delivery failed", "delivery_id", dl.ID, "endpoint_id", ep.ID, "url", ep.URL,
				"attempt", dl.Attempts+1, "err", errText, "next_attempt_at", next)
		}
		if res.health, res.err = d.Store.RecordAttempt(ctx, rec); res.err != nil {
			d.Logger.Error("webhooks: record attempt", "delivery_id", dl.ID, "err", res.err)
			return res
		}
	}
	if d.Observe != nil {
		d.Observe(outcome, d.now().Sub(dl.EventAt))
	}
	return res
}

// post sends payload and returns the status and, when keep is set or the
// status is not 2xx, the start of the answer (the rest is drained, so that
// the connection is reused).
func (d *Dispatcher) post(ctx context.Context, ep *identity.WebhookEndpoint, sg *signer, eventID string, payload []byte, at time.Time, keep bool) (int, string, error) {
	h, err := sg.sign(eventID, at, payload)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(payload))
	if err != nil {
		return 0, "", err
	}
	req.Header = h
	req.Header.Set("User-Agent", "latch-webhooks/1")
	res, err := d.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	if !keep && res.StatusCode >= 200 && res.StatusCode <= 299 {
		io.Copy(io.Discard, io.LimitReader(res.Body, MaxResponseRead))
		return res.StatusCode, "", nil
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, MaxResponseRead))
	return res.StatusCode, excerpt(body), nil
}

// excerpt is the start of an answer, cut on a character boundary.
func excerpt(b []byte) string {
	if len(b) > excerptLen {
		b = b[:excerptLen]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// Ping sends a signed "ping" event to an endpoint now, outside the queue,
// and returns how it went, for operators checking an endpoint.
func (d *Dispatcher) Ping(ctx context.Context, w *identity.WebhookEndpoint) identity.DeliveryAttempt {
	d.init()
	start, began := d.now(), time.Now()
	body := fmt.Appendf(nil, `{"event":"ping","data":{"webhookId":%q},"triggeredAt":%q}`, w.ID, start.UTC().Format(time.RFC3339Nano))
	id := "ping-" + start.UTC().Format("20060102T150405.000000000")
	a := identity.DeliveryAttempt{At: start}
	var err error
	a.StatusCode, a.Response, err = d.post(ctx, w, d.signer(w), id, body, start, true)
	a.Duration = time.Since(began)
	if err != nil {
		a.Error = err.Error()
	} else if a.StatusCode < 200 || a.StatusCode > 299 {
		a.Error = fmt.Sprintf("HTTP %d", a.StatusCode)
	}
	return a
}

// signer opens the endpoint's secret; a secret that cannot be opened (a
// changed LATCH_SECRET) fails every send, and so shows in the delivery log.
func (d *Dispatcher) signer(ep *identity.WebhookEndpoint) *signer {
	secret, err := d.Secret(ep)
	if err != nil {
		return &signer{err: err}
	}
	return newSigner(ep.Signing, secret)
}

// payloadCache keeps recently rendered bodies by event id, so that the
// endpoints of one tenant render each event once.
type payloadCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	ring []string
	at   int
}

func newPayloadCache(n int) *payloadCache {
	return &payloadCache{m: make(map[string][]byte, n), ring: make([]string, n)}
}

func (c *payloadCache) get(id string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[id]
	return p, ok
}

func (c *payloadCache) put(id string, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; ok {
		return
	}
	delete(c.m, c.ring[c.at])
	c.ring[c.at], c.m[id] = id, p
	c.at = (c.at + 1) % len(c.ring)
}
