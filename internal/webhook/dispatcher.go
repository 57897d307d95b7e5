package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/identity"
)

// Store is what the dispatcher needs of the database.
type Store interface {
	FanOutEvents(ctx context.Context, now time.Time, limit int) (int, error)
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*identity.ClaimedDelivery, error)
	FinishDelivery(ctx context.Context, d *identity.ClaimedDelivery, r identity.DeliveryResult) error
	NextDeliveryAt(ctx context.Context) (time.Time, error)
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)
}

// Limits of one delivery (DESIGN §7, issue "webhooks").
const (
	Timeout         = 10 * time.Second
	MaxResponseRead = 64 << 10 // bytes of an answer read at most
	excerptLen      = 1 << 10  // bytes of an answer kept in the delivery log
)

// Dispatcher delivers queued deliveries: it fans new events out, claims
// what is due, sends it on a pool of workers and records each attempt.
// Deliveries are at least once: a crash after a send and before its record
// sends again when the lease runs out, with the same webhook-id.
type Dispatcher struct {
	Store  Store
	Secret func(*identity.WebhookEndpoint) (string, error)
	// Render builds a delivery's body at its first attempt.
	Render       func(ctx context.Context, d *identity.Delivery) ([]byte, error)
	Client       *http.Client  // Guard.Client(Timeout) in production
	RetryBase    time.Duration // first retry delay; default 5 s
	SuspendAfter int           // default 50
	Workers      int           // concurrent sends; default 8
	Poll         time.Duration // longest sleep without a wake-up; default 1 s
	// Spacing is the shortest time between two rounds: under a stream of
	// logins, wake-ups are gathered into one fan-out per round instead of
	// one each (which took ~13% of SQLite's refresh throughput). Default 10 ms.
	Spacing   time.Duration
	Retention time.Duration // settled deliveries are kept this long; default 30 days
	Logger    *slog.Logger
	// Observe, when set, is told each attempt's outcome ("delivered",
	// "failed", "retry") and, for deliveries, the time from the event.
	Observe func(outcome string, sinceEvent time.Duration)

	once sync.Once
	wake chan struct{}
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.RetryBase <= 0 {
			d.RetryBase = 5 * time.Second
		}
		if d.SuspendAfter <= 0 {
			d.SuspendAfter = 50
		}
		if d.Workers <= 0 {
			d.Workers = 8
		}
		if d.Poll <= 0 {
			d.Poll = time.Second
		}
		if d.Retention <= 0 {
			d.Retention = 30 * 24 * time.Hour
		}
		if d.Spacing <= 0 {
			d.Spacing = 10 * time.Millisecond
		}
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
	})
}

// Wake tells the dispatcher that events were written; it never blocks.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then lets the sends in flight finish (each
// is bounded by the client's timeout) and returns.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	// A send takes at most the client timeout; the lease adds a margin for
	// recording it. After a crash, what was in flight is retried when it ends.
	lease := Timeout + 5*time.Second
	slots := make(chan struct{}, d.Workers)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	var pruned time.Time
	for ctx.Err() == nil {
		now := time.Now()
		if now.Sub(pruned) > time.Hour {
			if n, err := d.Store.PruneDeliveries(ctx, now.Add(-d.Retention)); err != nil {
				d.logErr(ctx, "prune deliveries", err)
			} else if n > 0 {
				d.Logger.Info("webhooks: pruned old deliveries", "count", n, "retention", d.Retention)
			}
			pruned = now
		}
		for {
			n, err := d.Store.FanOutEvents(ctx, now, 200)
			if err != nil {
				d.logErr(ctx, "fan out events", err)
				break
			}
			if n == 0 {
				break
			}
		}
		// One read says both whether to claim (taking the writer on SQLite,
		// row locks on PostgreSQL) and how long to sleep after.
		next, err := d.Store.NextDeliveryAt(ctx)
		if err != nil {
			d.logErr(ctx, "next delivery", err)
		}
		free := d.Workers - len(slots)
		var claimed []*identity.ClaimedDelivery
		if free > 0 && err == nil && !next.IsZero() && !next.After(now) {
			if claimed, err = d.Store.ClaimDeliveries(ctx, now, lease, free); err != nil {
				d.logErr(ctx, "claim deliveries", err)
			}
		}
		for _, c := range claimed {
			slots <- struct{}{}
			inflight.Go(func() {
				d.deliver(c)
				<-slots
				d.Wake() // a free worker: claim again without waiting for the poll
			})
		}
		if len(claimed) > 0 && len(claimed) == free {
			continue // there may be more due
		}
		wait := d.Poll
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
		if rest := d.Spacing - time.Since(now); rest > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(rest):
			}
		}
	}
}

func (d *Dispatcher) logErr(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		d.Logger.Warn("webhooks: "+what, "err", err)
	}
}

// deliver makes one attempt and records it. It runs on its own context:
// a shutdown lets it finish rather than leave a sent but unrecorded
// delivery behind.
func (d *Dispatcher) deliver(c *identity.ClaimedDelivery) {
	ctx := context.Background()
	start := time.Now()
	attempt := identity.DeliveryAttempt{DeliveryID: c.ID, At: start}
	payload := c.Payload
	status, errText, excerpt := 0, "", ""
	var err error
	if len(payload) == 0 {
		payload, err = d.Render(ctx, &c.Delivery)
	}
	if err == nil {
		status, excerpt, err = d.send(ctx, c, payload, start)
	}
	if err != nil {
		errText = err.Error()
	} else if status < 200 || status > 299 {
		errText = fmt.Sprintf("HTTP %d", status)
	}
	attempt.StatusCode, attempt.Duration, attempt.Error, attempt.Response = status, time.Since(start), errText, excerpt
	res := identity.DeliveryResult{Attempt: attempt, Delivered: errText == "", Payload: payload, SuspendAfter: d.SuspendAfter}
	outcome := "delivered"
	if !res.Delivered {
		next, retry := NextAttempt(c.CreatedAt, start, c.Attempts+1, d.RetryBase)
		res.NextAttemptAt, outcome = next, "retry"
		if !retry {
			outcome = "failed"
		}
		d.Logger.Info("webhook delivery failed", "delivery_id", c.ID, "endpoint_id", c.EndpointID, "url", c.Endpoint.URL,
			"attempt", c.Attempts+1, "err", errText, "next_attempt_at", next)
	}
	if err := d.Store.FinishDelivery(ctx, c, res); err != nil {
		// The lease runs out and the delivery is sent again: at least once.
		d.Logger.Error("webhooks: record attempt", "delivery_id", c.ID, "err", err)
		return
	}
	if d.Observe != nil {
		d.Observe(outcome, time.Since(c.EventAt))
	}
}

// send POSTs payload and returns the status and the start of the answer.
func (d *Dispatcher) send(ctx context.Context, c *identity.ClaimedDelivery, payload []byte, at time.Time) (int, string, error) {
	secret, err := d.Secret(&c.Endpoint)
	if err != nil {
		return 0, "", err
	}
	h, err := Sign(c.Endpoint.Signing, secret, c.EventID, at, payload)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint.URL, bytes.NewReader(payload))
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
	start := time.Now()
	body := fmt.Appendf(nil, `{"event":"ping","data":{"webhookId":%q},"triggeredAt":%q}`, w.ID, start.UTC().Format(time.RFC3339Nano))
	c := &identity.ClaimedDelivery{Delivery: identity.Delivery{EventID: "ping-" + start.UTC().Format("20060102T150405.000000000")}, Endpoint: *w}
	status, excerpt, err := d.send(ctx, c, body, start)
	a := identity.DeliveryAttempt{At: start, StatusCode: status, Duration: time.Since(start), Response: excerpt}
	if err != nil {
		a.Error = err.Error()
	} else if status < 200 || status > 299 {
		a.Error = fmt.Sprintf("HTTP %d", status)
	}
	return a
}
