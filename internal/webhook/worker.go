package webhook

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// Tuning of an endpoint's worker.
const (
	window     = 512                    // events read ahead and not yet settled, at most
	saveEvery  = 250 * time.Millisecond // cursor saves while events flow
	activePoll = 100 * time.Millisecond // reads without a wake-up (another instance's events)
	idleAfter  = time.Second            // nothing to do this long: give the lease up
	dueBatch   = 32                     // retries fetched at once
)

// item is an event read from the log, on its way to the endpoint.
type item struct {
	ev    *identity.LogEvent
	d     *identity.Delivery // nil: not of a type the endpoint subscribed to
	state int
}

const (
	unsent = iota
	sending
	settled
)

// worker delivers one leased endpoint. Its state is its own goroutine's;
// sends report back on results.
type worker struct {
	d         *Dispatcher
	ep        *identity.WebhookEndpoint
	signer    *signer
	poke      chan struct{}
	listening atomic.Bool // caught up with the log: new events need a poke
	results   chan result

	items      []*item // read, in log order, from just after the cursor
	cursor     string  // every event up to here is settled
	readPos    string  // the last event read
	saved      string  // the cursor as stored
	savedAt    time.Time
	lastRead   time.Time
	lastBatch  int // events the last read returned
	poked      bool
	caughtUp   bool
	retries    []*identity.Delivery // due, not yet sent
	retryCheck time.Time            // when to look for due retries again
	nextRetry  time.Time            // when the next retry not yet fetched is due (zero: none known)
	sending    map[string]bool      // retries in flight
	inflight   int
	busyAt     time.Time // the last time there was something to do
	pauseTill  time.Time // after a store error
	stopped    bool      // suspended, gone or lease lost: send nothing more
	lost       bool      // the lease is not ours any more: do not release it
}

func newWorker(d *Dispatcher, ep *identity.WebhookEndpoint) *worker {
	w := &worker{d: d, ep: ep, poke: make(chan struct{}, 1), results: make(chan result, d.InFlight+1),
		cursor: ep.Cursor, readPos: ep.Cursor, saved: ep.Cursor, poked: true, sending: map[string]bool{}}
	w.signer = d.signer(ep)
	return w
}

// run delivers until there is nothing to do, the endpoint is suspended or
// gone, or ctx ends; it then waits for its sends, saves the cursor and
// gives the lease up.
func (w *worker) run(ctx context.Context) {
	now := w.d.now()
	w.savedAt, w.busyAt = now, now
	defer w.finish()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now = w.d.now()
		stopping := w.stopped || ctx.Err() != nil
		if !stopping && !now.Before(w.pauseTill) {
			w.fill(ctx, now)
			w.start(now)
		}
		w.advance()
		if (w.cursor != w.saved && now.Sub(w.savedAt) >= saveEvery) || now.Sub(w.savedAt) >= w.d.Lease/3 {
			w.save(now)
		}
		if w.inflight == 0 && (stopping || w.idle(now)) {
			return
		}
		t.Reset(max(w.wakeAt(now).Sub(now), time.Millisecond))
		done := ctx.Done()
		if stopping {
			done = nil
		}
		select {
		case r := <-w.results:
			w.settle(r, w.d.now())
		case <-w.poke:
			w.poked = true
		case <-t.C:
		case <-done:
		}
	}
}

// finish saves the cursor and gives the lease up, then lets the
// dispatcher look for work again (events may have come in meanwhile).
func (w *worker) finish() {
	w.d.mu.Lock()
	if w.d.workers[w.ep.ID] == w {
		delete(w.d.workers, w.ep.ID)
	}
	w.d.mu.Unlock()
	if !w.lost {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.d.Store.ReleaseEndpoint(ctx, w.d.owner, w.ep.ID, w.cursor); err != nil {
			// The lease runs out instead; what came after the saved
			// cursor is sent again.
			w.d.Logger.Warn("webhooks: release endpoint", "endpoint_id", w.ep.ID, "err", err)
		}
	}
	w.d.Wake()
}

// streamOpen says whether events may be sent from the log: always while
// healthy; once the endpoint's retry time has come while it is failing.
func (w *worker) streamOpen(now time.Time) bool {
	return w.ep.Status == identity.WebhookHealthy || !now.Before(w.ep.RetryAt)
}

// limit is how many sends may be in flight: a failing endpoint is slowed
// to one at a time, so that a receiver timing out ties up one slot.
func (w *worker) limit() int {
	if w.ep.Status != identity.WebhookHealthy {
		return 1
	}
	return w.d.InFlight
}

// fill fetches due retries and reads events after the last one read.
func (w *worker) fill(ctx context.Context, now time.Time) {
	if len(w.retries) == 0 && !now.Before(w.retryCheck) {
		due, next, err := w.d.Store.DueDeliveries(ctx, w.ep.ID, now, dueBatch)
		if err != nil {
			w.d.logErr(ctx, "due deliveries", err)
			w.pauseTill = now.Add(time.Second)
			return
		}
		due = slices.DeleteFunc(due, func(r *identity.Delivery) bool { return w.sending[r.ID] })
		var render []*identity.Delivery
		for _, r := range due {
			if len(r.Payload) == 0 {
				render = append(render, r)
			}
		}
		if err := w.render(ctx, render); err != nil {
			w.d.logErr(ctx, "render deliveries", err)
			w.pauseTill = now.Add(time.Second)
			return
		}
		w.retries, w.retryCheck, w.nextRetry = due, next, next
		if next.IsZero() || next.Sub(now) > w.d.Poll {
			w.retryCheck = now.Add(w.d.Poll)
		}
	}
	unsettled := len(w.items)
	if !w.streamOpen(now) || unsettled >= window/2 || now.Sub(w.lastRead) < w.readGap() || (!w.poked && w.caughtUp && now.Sub(w.lastRead) < activePoll) {
		return
	}
	w.poked = false
	w.listening.Store(true) // an event committed during the read pokes the next one
	evs, err := w.d.Store.ReadEvents(ctx, w.d.owner, w.ep.ID, w.readPos, window-unsettled)
	w.lastRead = now
	if err != nil {
		w.d.logErr(ctx, "read events", err)
		return
	}
	w.caughtUp, w.lastBatch = len(evs) < window-unsettled, len(evs)
	w.listening.Store(w.caughtUp)
	if len(evs) == 0 {
		return
	}
	items := make([]*item, len(evs))
	var render []*identity.Delivery
	for i, ev := range evs {
		it := &item{ev: ev}
		if slices.Contains(w.ep.Events, ev.Type) {
			it.d = &identity.Delivery{ID: identity.DeliveryID(ev.ID, w.ep.ID), TenantID: ev.TenantID, EndpointID: w.ep.ID, EventID: ev.ID,
				EventType: ev.Type, UserID: ev.UserID, EventAt: ev.CreatedAt, Status: identity.DeliveryPending, CreatedAt: ev.CreatedAt}
			render = append(render, it.d)
		} else {
			it.state = settled
		}
		items[i] = it
	}
	if err := w.render(ctx, render); err != nil {
		w.d.logErr(ctx, "render deliveries", err)
		w.pauseTill = now.Add(time.Second)
		return // read again later
	}
	w.items = append(w.items, items...)
	w.readPos = evs[len(evs)-1].Position
	w.busyAt = now
}

// readGap is the shortest time between two reads: Spacing while events
// come one at a time (each is sent at once), five times that while they
// stream in (a read, and the user's rendering, then serve a batch: on
// SQLite under a stream of refreshes a read and a rendering cost about
// 0.4 ms, 17 µs an event at 10 ms).
func (w *worker) readGap() time.Duration {
	if w.lastBatch > 8 {
		return 5 * w.d.Spacing
	}
	return w.d.Spacing
}

// render fills in the payloads, once per event for all endpoints.
func (w *worker) render(ctx context.Context, ds []*identity.Delivery) error {
	var need []*identity.Delivery
	for _, dl := range ds {
		if p, ok := w.d.payloads.get(dl.EventID); ok {
			dl.Payload = p
		} else {
			need = append(need, dl)
		}
	}
	if len(need) == 0 {
		return nil
	}
	if err := w.d.Render(ctx, need); err != nil {
		return err
	}
	for _, dl := range need {
		w.d.payloads.put(dl.EventID, dl.Payload)
	}
	return nil
}

// start launches sends up to the in-flight limit: due retries first, then
// events from the log when the stream is open.
func (w *worker) start(now time.Time) {
	for w.inflight < w.limit() {
		var dl *identity.Delivery
		var it *item
		remember := w.ep.Status != identity.WebhookHealthy || w.ep.ConsecutiveFailures > 0
		if len(w.retries) > 0 {
			dl, w.retries = w.retries[0], w.retries[1:]
			w.sending[dl.ID] = true
			remember = true
		} else if w.streamOpen(now) {
			for _, x := range w.items {
				if x.state == unsent {
					it = x
					break
				}
			}
			if it == nil {
				return
			}
			it.state, dl = sending, it.d
			remember = remember || w.d.sample(w.ep.ID, now)
		} else {
			return
		}
		w.inflight++
		w.busyAt = now
		ep, sg := *w.ep, w.signer
		go func() {
			r := w.d.attempt(&ep, sg, dl, remember)
			r.item = it
			if it == nil {
				r.retry = dl
			}
			w.results <- r
		}()
	}
}

// settle takes a send's result in.
func (w *worker) settle(r result, now time.Time) {
	w.inflight--
	w.busyAt = now
	if r.retry != nil {
		delete(w.sending, r.retry.ID)
	}
	if r.err != nil {
		// Not written down: the event is sent again after a pause (a retry
		// stays due in the store).
		if r.item != nil {
			r.item.state = unsent
		}
		w.pauseTill = now.Add(time.Second)
		return
	}
	if r.item != nil {
		r.item.state = settled
	}
	if h := r.health; h != nil {
		if r.success && w.ep.FailingSince.Before(now.Add(-w.d.RetryBase)) && !w.ep.FailingSince.IsZero() {
			w.retryCheck = now // the store made the retries due: the receiver is back
		}
		w.ep.Status, w.ep.ConsecutiveFailures, w.ep.FailingSince, w.ep.RetryAt = h.Status, h.ConsecutiveFailures, h.FailingSince, h.RetryAt
		if h.Status == identity.WebhookSuspended {
			w.stopped = true
			w.d.Logger.Warn("webhook endpoint suspended: its deliveries failed without a success for too long; events stay queued until it is set healthy",
				"endpoint_id", w.ep.ID, "url", w.ep.URL, "failing_since", h.FailingSince)
		}
	}
	if !r.success && !r.next.IsZero() {
		w.retryCheck = earliest(w.retryCheck, r.next)
		if w.nextRetry.IsZero() || r.next.Before(w.nextRetry) {
			w.nextRetry = r.next
		}
	}
}

// advance moves the cursor over the settled events at the front.
func (w *worker) advance() {
	n := 0
	for n < len(w.items) && w.items[n].state == settled {
		w.cursor = w.items[n].ev.Position
		n++
	}
	if n > 0 {
		w.items = slices.Delete(w.items, 0, n)
	}
}

// save stores the cursor and renews the lease; it also picks up what an
// admin changed (URL, events, status).
func (w *worker) save(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep, err := w.d.Store.SaveCursor(ctx, w.d.owner, w.ep.ID, w.cursor, now, w.d.Lease)
	switch identity.ErrorCode(err) {
	case "":
	case identity.ENOTFOUND, identity.ECONFLICT:
		w.stopped, w.lost = true, true
		return
	default:
		w.d.Logger.Warn("webhooks: save cursor", "endpoint_id", w.ep.ID, "err", err)
		w.savedAt = now.Add(time.Second - w.d.Lease/3) // try again in a second
		return
	}
	w.saved, w.savedAt = w.cursor, now
	if ep.UpdatedAt.After(w.ep.UpdatedAt) {
		if string(ep.SecretSealed) != string(w.ep.SecretSealed) || ep.Signing != w.ep.Signing {
			w.signer = w.d.signer(ep)
		}
		w.retryCheck = now // an admin change makes the retries due
	}
	w.ep = ep
	if ep.Status == identity.WebhookSuspended {
		w.stopped = true
	}
}

// idle reports whether the worker has had nothing to do for a while and
// has nothing coming soon: no retry due, and the log read to its end with
// nothing left to send (or the stream held back for longer). The
// dispatcher leases the endpoint again when it has work.
func (w *worker) idle(now time.Time) bool {
	if len(w.retries) > 0 || now.Sub(w.busyAt) < idleAfter || (!w.nextRetry.IsZero() && w.nextRetry.Sub(now) <= idleAfter) {
		return false
	}
	if !w.streamOpen(now) {
		return w.ep.RetryAt.Sub(now) > idleAfter
	}
	return w.caughtUp && !w.poked && !slices.ContainsFunc(w.items, func(it *item) bool { return it.state == unsent })
}

// wakeAt is the next time the worker has something to do without being
// told: a save, a read, a retry coming due, the stream reopening.
func (w *worker) wakeAt(now time.Time) time.Time {
	at := w.savedAt.Add(w.d.Lease / 3)
	if w.cursor != w.saved {
		at = earliest(at, w.savedAt.Add(saveEvery))
	}
	if now.Before(w.pauseTill) {
		return earliest(at, w.pauseTill)
	}
	if !w.stopped {
		at = earliest(at, w.retryCheck)
		if w.streamOpen(now) {
			next := w.lastRead.Add(activePoll)
			if w.poked || !w.caughtUp {
				next = w.lastRead.Add(w.readGap())
			}
			at = earliest(at, next)
		} else {
			at = earliest(at, w.ep.RetryAt)
		}
	}
	if w.inflight == 0 {
		at = earliest(at, w.busyAt.Add(idleAfter))
	}
	return at
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
