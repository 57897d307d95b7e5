package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

func mustWebhook(tb testing.TB, s identity.Store, tenantID string, events ...string) *identity.WebhookEndpoint {
	tb.Helper()
	w := &identity.WebhookEndpoint{ID: identity.NewID(), TenantID: tenantID, URL: "https://hooks.example/" + tenantID, Events: events,
		Signing: "standard-webhooks", SecretSealed: []byte("sealed"), Status: identity.WebhookHealthy, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		tb.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

func appendEvent(tb testing.TB, s identity.Store, tenantID, typ string, at time.Time) identity.Event {
	tb.Helper()
	e := identity.Event{ID: identity.NewID(), TenantID: tenantID, UserID: "u", Type: typ, CreatedAt: at}
	if err := s.AppendEvents(context.Background(), e); err != nil {
		tb.Fatal(err)
	}
	return e
}

// readAll reads a tenant's events after pos to the end, in batches of 3
// (so that positions are resumed from), until it has at least want of
// them, and returns their ids and the last position. It polls: on
// PostgreSQL an event is readable once every transaction older than its
// own has ended, and other tests' transactions on the server may hold
// that back a moment.
func readAll(tb testing.TB, s identity.Store, w *identity.WebhookEndpoint, owner, pos string, want int) ([]string, string) {
	tb.Helper()
	var ids []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := s.ReadEvents(context.Background(), owner, w.ID, pos, 3)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range evs {
			if e.TenantID != w.TenantID || e.Position == "" {
				tb.Fatalf("read %+v for tenant %s", e, w.TenantID)
			}
			ids = append(ids, e.ID)
			pos = e.Position
		}
		if len(evs) == 3 {
			continue
		}
		if len(ids) >= want {
			return ids, pos
		}
		if time.Now().After(deadline) {
			tb.Fatalf("read %d events after 30 s, want %d", len(ids), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// claimed leases the endpoints of the given ids among those claimable at now.
func claimed(tb testing.TB, s identity.Store, owner string, now time.Time, ids ...string) []*identity.WebhookEndpoint {
	tb.Helper()
	eps, err := s.ClaimEndpoints(context.Background(), owner, now, time.Minute, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return slices.DeleteFunc(eps, func(w *identity.WebhookEndpoint) bool { return !slices.Contains(ids, w.ID) })
}

// Ensure endpoints can be created, read, listed, updated and deleted, with
// their health and a cursor.
func testWebhookCRUD(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	if w.Cursor == "" {
		t.Fatal("CreateWebhook set no cursor")
	}
	got, err := s.GetWebhook(ctx, tn.ID, w.ID)
	if err != nil || got.URL != w.URL || !slices.Equal(got.Events, w.Events) || string(got.SecretSealed) != "sealed" || !got.CreatedAt.Equal(base) ||
		got.Cursor != w.Cursor || !got.FailingSince.IsZero() || !got.RetryAt.IsZero() {
		t.Fatalf("GetWebhook = %+v, %v", got, err)
	}
	got.Events, got.Status, got.ConsecutiveFailures = []string{identity.EventLoggedOut}, identity.WebhookUnhealthy, 3
	got.FailingSince, got.RetryAt = base.Add(time.Minute), base.Add(time.Hour)
	if err := s.UpdateWebhook(ctx, got); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListWebhooks(ctx, tn.ID)
	if len(list) != 1 || list[0].Status != identity.WebhookUnhealthy || list[0].ConsecutiveFailures != 3 ||
		!list[0].FailingSince.Equal(base.Add(time.Minute)) || !list[0].RetryAt.Equal(base.Add(time.Hour)) || list[0].FailingSince.Location() != time.UTC {
		t.Fatalf("ListWebhooks = %+v", list)
	}
	_, err = s.GetWebhook(ctx, MustCreateTenant(t, s, "").ID, w.ID)
	wantCode(t, err, identity.ENOTFOUND)
	wantCode(t, s.CreateWebhook(ctx, &identity.WebhookEndpoint{ID: identity.NewID(), TenantID: identity.NewID(), Signing: "x", SecretSealed: []byte{1},
		Status: "healthy", CreatedAt: base, UpdatedAt: base}), identity.ENOTFOUND)
	if err := s.DeleteWebhook(ctx, tn.ID, w.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteWebhook(ctx, tn.ID, w.ID), identity.ENOTFOUND)
}

// Ensure the event log is read in order from a position: an endpoint's
// cursor starts after the events committed before it, a position resumes
// where it was, and other tenants' events are not in it.
func testWebhookEventLog(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn, other := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	past := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base)
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	var want []string
	for i := range 7 {
		want = append(want, appendEvent(t, s, tn.ID, identity.EventLoggedIn, base.Add(time.Duration(i)*time.Second)).ID)
		appendEvent(t, s, other.ID, identity.EventLoggedIn, base)
	}
	// Two events of one transaction.
	two := []identity.Event{{ID: identity.NewID(), TenantID: tn.ID, Type: identity.EventLoginFailed, CreatedAt: base},
		{ID: identity.NewID(), TenantID: tn.ID, Type: identity.EventLocked, CreatedAt: base}}
	if err := s.AppendEvents(ctx, two...); err != nil {
		t.Fatal(err)
	}
	got, end := readAll(t, s, w, "", w.Cursor, 9)
	if len(got) != 9 || !slices.Equal(got[:7], want) || !slices.Contains(got, two[0].ID) || !slices.Contains(got, two[1].ID) || slices.Contains(got, past.ID) {
		t.Fatalf("read %v, want %v and the two of one transaction, never the past %s", got, want, past.ID)
	}
	evs, err := s.ReadEvents(ctx, "", w.ID, w.Cursor, 1)
	if err != nil || len(evs) != 1 || evs[0].ID != want[0] || evs[0].Type != identity.EventLoggedIn || evs[0].UserID != "u" || !evs[0].CreatedAt.Equal(base) {
		t.Fatalf("first event: %+v, %v", evs, err)
	}
	if more, _ := readAll(t, s, w, "", end, 0); len(more) != 0 {
		t.Fatalf("read past the end: %v", more)
	}
	late := appendEvent(t, s, tn.ID, identity.EventLoggedOut, base)
	if more, _ := readAll(t, s, w, "", end, 1); !slices.Equal(more, []string{late.ID}) {
		t.Fatalf("after the end: %v, want %s", more, late.ID)
	}
	_, err = s.ReadEvents(ctx, "", w.ID, "no/such:position", 1)
	wantCode(t, err, identity.EINVALID)
}

// Ensure no event is read behind a cursor while others commit at the same
// time: writers append concurrently, a reader follows its position, and
// in the end it has read every event exactly once.
func testWebhookEventLogConcurrent(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := map[string]bool{}
	for range writers {
		wg.Go(func() {
			for range each {
				e := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base)
				mu.Lock()
				written[e.ID] = true
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]int{}
	pos := w.Cursor
	deadline := time.Now().Add(60 * time.Second)
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		evs, err := s.ReadEvents(ctx, "", w.ID, pos, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			seen[e.ID]++
			pos = e.Position
		}
		if finished && len(seen) >= writers*each {
			break
		}
		if finished && time.Now().After(deadline) {
			break
		}
		if len(evs) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if len(seen) != writers*each {
		t.Fatalf("read %d distinct events, want %d", len(seen), writers*each)
	}
	for id, n := range seen {
		if n != 1 || !written[id] {
			t.Fatalf("event %s read %d times (written: %v)", id, n, written[id])
		}
	}
}

// Ensure an endpoint with work is leased to one caller at a time, its
// cursor only moves forward and only by the lease holder, a released or
// expired lease can be claimed again, and endpoints without work, held
// back after a failure, or suspended are not claimed.
func testWebhookClaimAndCursor(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	now := base.Add(time.Minute)
	if got := claimed(t, s, "a", now, w.ID); len(got) != 0 {
		t.Fatalf("claimed without work: %+v", got)
	}
	appendEvent(t, s, tn.ID, identity.EventLoggedIn, base)
	appendEvent(t, s, tn.ID, identity.EventLoggedIn, base)
	readAll(t, s, w, "", w.Cursor, 2)
	if n := concurrently(t, 6, func() (bool, error) {
		eps, err := s.ClaimEndpoints(ctx, identity.NewID(), now, time.Minute, 1000)
		return slices.ContainsFunc(eps, func(e *identity.WebhookEndpoint) bool { return e.ID == w.ID }), err
	}); n != 1 {
		t.Fatalf("%d concurrent callers leased the endpoint, want 1", n)
	}
	// Taken over when the lease ran out.
	got := claimed(t, s, "a", now.Add(2*time.Minute), w.ID)
	if len(got) != 1 || got[0].Cursor != w.Cursor || got[0].URL != w.URL || got[0].Signing == "" || string(got[0].SecretSealed) != "sealed" {
		t.Fatalf("claim after the lease: %+v", got)
	}
	if len(claimed(t, s, "b", now.Add(2*time.Minute), w.ID)) != 0 {
		t.Fatal("a leased endpoint was claimed again")
	}
	evs, _ := s.ReadEvents(ctx, "a", w.ID, w.Cursor, 10)
	if len(evs) != 2 {
		t.Fatalf("read %d events", len(evs))
	}
	if other, err := s.ReadEvents(ctx, "b", w.ID, w.Cursor, 10); err != nil || len(other) != 0 {
		t.Fatalf("read %d events without the lease (%v)", len(other), err)
	}
	_, err := s.SaveCursor(ctx, "b", w.ID, evs[0].Position, now, time.Minute)
	wantCode(t, err, identity.ECONFLICT)
	saved, err := s.SaveCursor(ctx, "a", w.ID, evs[1].Position, now.Add(2*time.Minute), time.Minute)
	if err != nil || saved.Cursor != evs[1].Position || saved.URL != w.URL {
		t.Fatalf("SaveCursor = %+v, %v", saved, err)
	}
	if back, err := s.SaveCursor(ctx, "a", w.ID, evs[0].Position, now.Add(2*time.Minute), time.Minute); err != nil || back.Cursor != evs[1].Position {
		t.Fatalf("the cursor moved back: %+v, %v", back, err)
	}
	if err := s.ReleaseEndpoint(ctx, "a", w.ID, evs[1].Position); err != nil {
		t.Fatal(err)
	}
	if got := claimed(t, s, "b", now.Add(2*time.Minute), w.ID); len(got) != 0 {
		t.Fatal("claimed with nothing after its cursor")
	}
	appendEvent(t, s, tn.ID, identity.EventLoggedIn, base)
	readAll(t, s, w, "", evs[1].Position, 1)
	got = claimed(t, s, "b", now.Add(2*time.Minute), w.ID)
	if len(got) != 1 || got[0].Cursor != evs[1].Position {
		t.Fatalf("after release and a new event: %+v", got)
	}
	if err := s.ReleaseEndpoint(ctx, "a", w.ID, ""); err != nil { // not a's any more: left alone
		t.Fatal(err)
	}
	if len(claimed(t, s, "c", now.Add(2*time.Minute), w.ID)) != 0 {
		t.Fatal("a release by a former holder freed the lease")
	}
	if err := s.ReleaseEndpoint(ctx, "b", w.ID, evs[1].Position); err != nil {
		t.Fatal(err)
	}
	// Held back after a failure: not claimed for its stream before RetryAt.
	ep, _ := s.GetWebhook(ctx, tn.ID, w.ID)
	ep.Status, ep.RetryAt, ep.UpdatedAt = identity.WebhookUnhealthy, now.Add(time.Hour), now
	if err := s.UpdateWebhook(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if len(claimed(t, s, "c", now.Add(30*time.Minute), w.ID)) != 0 {
		t.Fatal("claimed before its retry time")
	}
	if got := claimed(t, s, "c", now.Add(61*time.Minute), w.ID); len(got) != 1 {
		t.Fatal("not claimed after its retry time")
	}
	s.ReleaseEndpoint(ctx, "c", w.ID, "")
	ep.Status = identity.WebhookSuspended
	s.UpdateWebhook(ctx, ep)
	if len(claimed(t, s, "d", now.Add(24*time.Hour), w.ID)) != 0 {
		t.Fatal("a suspended endpoint was claimed")
	}
	wantCode(t, s.ReleaseEndpoint(ctx, "d", w.ID, "not a position"), identity.EINVALID)
	s.DeleteWebhook(ctx, tn.ID, w.ID)
	if gone, err := s.ReadEvents(ctx, "", w.ID, "", 10); err != nil || len(gone) != 0 {
		t.Fatalf("read %d events of a deleted endpoint (%v)", len(gone), err)
	}
	_, err = s.SaveCursor(ctx, "c", w.ID, "", now, time.Minute)
	wantCode(t, err, identity.ENOTFOUND)
}

// Ensure an attempt is written with its delivery row and the endpoint's
// health: failures make it unhealthy and retries due later, it is
// suspended only after failing without a success for SuspendAfter, a
// success after a real outage makes its retries due at once, and the
// delivery list shows rows and the log's view of the other events.
func testWebhookAttemptsAndHealth(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	var evs []identity.Event
	for i := range 4 {
		evs = append(evs, appendEvent(t, s, tn.ID, identity.EventLoggedIn, base.Add(time.Duration(i)*time.Second)))
	}
	appendEvent(t, s, tn.ID, identity.EventLoggedOut, base) // not subscribed
	dl := func(e identity.Event) identity.Delivery {
		return identity.Delivery{ID: identity.DeliveryID(e.ID, w.ID), TenantID: tn.ID, EndpointID: w.ID, EventID: e.ID, EventType: e.Type,
			UserID: e.UserID, EventAt: e.CreatedAt, CreatedAt: e.CreatedAt}
	}
	at := base.Add(time.Minute)
	record := func(d identity.Delivery, at time.Time, ok bool) *identity.EndpointHealth {
		t.Helper()
		r := &identity.AttemptRecord{Delivery: d, SuspendAfter: time.Hour, RecoveredAfter: 5 * time.Second,
			Attempt: identity.DeliveryAttempt{DeliveryID: d.ID, At: at, StatusCode: 500, Duration: time.Millisecond, Error: "HTTP 500", Response: "oops"}}
		r.Delivery.Payload = []byte(`{"event":"x"}`)
		if ok {
			r.Delivery.Status, r.Attempt.StatusCode, r.Attempt.Error = identity.DeliveryDelivered, 204, ""
		} else {
			r.Delivery.Status, r.Delivery.NextAttemptAt, r.RetryAt = identity.DeliveryPending, at.Add(10*time.Minute), at.Add(time.Minute)
		}
		r.Delivery.LastStatusCode, r.Delivery.LastError = r.Attempt.StatusCode, r.Attempt.Error
		h, err := s.RecordAttempt(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := record(dl(evs[0]), at, false)
	if h.Status != identity.WebhookUnhealthy || h.ConsecutiveFailures != 1 || !h.FailingSince.Equal(at) || !h.RetryAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("after one failure: %+v", h)
	}
	// A burst of failures within the hour does not suspend.
	for i := range 20 {
		h = record(dl(evs[1]), at.Add(time.Duration(i)*time.Second), false)
	}
	if h.Status != identity.WebhookUnhealthy || h.ConsecutiveFailures != 21 || !h.FailingSince.Equal(at) {
		t.Fatalf("after a burst: %+v", h)
	}
	due, next, err := s.DueDeliveries(ctx, w.ID, at.Add(5*time.Minute), 10)
	if err != nil || len(due) != 0 || !next.Equal(at.Add(10*time.Minute)) {
		t.Fatalf("DueDeliveries before due = %+v, %v, %v", due, next, err)
	}
	due, next, err = s.DueDeliveries(ctx, w.ID, at.Add(10*time.Minute+10*time.Second), 10)
	if err != nil || len(due) != 1 || due[0].EventID != evs[0].ID || due[0].Attempts != 1 || string(due[0].Payload) != `{"event":"x"}` ||
		due[0].LastStatusCode != 500 || !next.Equal(at.Add(19*time.Second+10*time.Minute)) {
		t.Fatalf("DueDeliveries = %+v, next %v, %v", due, next, err)
	}
	if got := claimed(t, s, "a", at.Add(10*time.Minute+10*time.Second), w.ID); len(got) != 1 {
		t.Fatal("a due retry did not make the endpoint claimable")
	}
	// A success after a failing period longer than RecoveredAfter: healthy,
	// and the retries are due now.
	back := at.Add(20 * time.Second)
	h = record(dl(evs[2]), back, true)
	if h.Status != identity.WebhookHealthy || h.ConsecutiveFailures != 0 || !h.FailingSince.IsZero() || !h.RetryAt.IsZero() {
		t.Fatalf("after a success: %+v", h)
	}
	if due, _, _ := s.DueDeliveries(ctx, w.ID, back, 10); len(due) != 2 {
		t.Fatalf("%d retries due after the receiver came back, want 2", len(due))
	}
	// Failing for the whole SuspendAfter, whatever the count, suspends.
	record(dl(evs[0]), back.Add(time.Second), false)
	h = record(dl(evs[0]), back.Add(time.Second+59*time.Minute), false)
	if h.Status != identity.WebhookUnhealthy {
		t.Fatalf("suspended before the hour: %+v", h)
	}
	h = record(dl(evs[0]), back.Add(time.Second+time.Hour), false)
	if h.Status != identity.WebhookSuspended || h.ConsecutiveFailures != 3 {
		t.Fatalf("after failing for an hour: %+v", h)
	}
	if h = record(dl(evs[1]), back.Add(2*time.Hour), true); h.Status != identity.WebhookSuspended {
		t.Fatalf("a success re-enabled a suspended endpoint: %+v", h)
	}
	failed := dl(evs[3])
	r := &identity.AttemptRecord{Delivery: failed, Attempt: identity.DeliveryAttempt{DeliveryID: failed.ID, At: at, Error: "timeout"}, SuspendAfter: time.Hour}
	r.Delivery.Status = identity.DeliveryFailed
	if _, err := s.RecordAttempt(ctx, r); err != nil {
		t.Fatal(err)
	}
	as, _ := s.ListDeliveryAttempts(ctx, identity.DeliveryID(evs[0].ID, w.ID))
	if len(as) != 4 || as[len(as)-1].StatusCode != 500 || as[len(as)-1].Response != "oops" || as[len(as)-1].Duration != time.Millisecond {
		t.Fatalf("attempts: %+v", as)
	}

	// The list: rows for evs[0..3]; then an event the cursor has passed
	// and one it has not.
	passed := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base.Add(time.Hour))
	ahead := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base.Add(2*time.Hour))
	if got := claimed(t, s, "b", back.Add(3*time.Hour), w.ID); len(got) != 0 {
		t.Fatal("a suspended endpoint was claimed")
	}
	ep, _ := s.GetWebhook(ctx, tn.ID, w.ID)
	ep.Status, ep.UpdatedAt = identity.WebhookHealthy, back.Add(3*time.Hour)
	s.UpdateWebhook(ctx, ep)
	got := claimed(t, s, "b", back.Add(3*time.Hour), w.ID)
	if len(got) != 1 {
		t.Fatal("not claimable once re-enabled")
	}
	var pos string
	ids, _ := readAll(t, s, w, "b", got[0].Cursor, 7)
	all, _ := s.ReadEvents(ctx, "b", w.ID, got[0].Cursor, 100)
	for _, e := range all {
		if e.ID == passed.ID {
			pos = e.Position
		}
	}
	if pos == "" {
		t.Fatalf("event %s not in the log after the cursor: %v", passed.ID, ids)
	}
	if _, err := s.SaveCursor(ctx, "b", w.ID, pos, back.Add(3*time.Hour), time.Minute); err != nil {
		t.Fatal(err)
	}
	list, cursor, err := s.ListDeliveries(ctx, tn.ID, w.ID, identity.Page{Limit: 4})
	if err != nil || len(list) != 4 || cursor == "" {
		t.Fatalf("ListDeliveries page 1 = %d, %q, %v", len(list), cursor, err)
	}
	rest, cursor2, err := s.ListDeliveries(ctx, tn.ID, w.ID, identity.Page{Limit: 4, Cursor: cursor})
	if err != nil || len(rest) != 2 || cursor2 != "" {
		t.Fatalf("ListDeliveries page 2 = %+v, %q, %v", rest, cursor2, err)
	}
	byEvent := map[string]*identity.Delivery{}
	for _, d := range append(list, rest...) {
		byEvent[d.EventID] = d
	}
	if d := byEvent[ahead.ID]; d == nil || d.Status != identity.DeliveryPending || d.Attempts != 0 || d.ID != identity.DeliveryID(ahead.ID, w.ID) {
		t.Fatalf("the event ahead of the cursor: %+v", d)
	}
	if d := byEvent[passed.ID]; d == nil || d.Status != identity.DeliveryDelivered || d.Attempts != 1 || d.EventType != identity.EventLoggedIn {
		t.Fatalf("the event the cursor passed: %+v", d)
	}
	if d := byEvent[evs[0].ID]; d == nil || d.Status != identity.DeliveryPending || d.Attempts != 4 || d.LastError != "HTTP 500" || !d.CreatedAt.Equal(evs[0].CreatedAt) ||
		!d.NextAttemptAt.Equal(back.Add(time.Second+time.Hour).Add(10*time.Minute)) {
		t.Fatalf("the retried event: %+v", d)
	}
	if d := byEvent[evs[2].ID]; d == nil || d.Status != identity.DeliveryDelivered || d.LastStatusCode != 204 {
		t.Fatalf("the sampled success: %+v", d)
	}
	if d := byEvent[evs[3].ID]; d == nil || d.Status != identity.DeliveryFailed {
		t.Fatalf("the failed event: %+v", d)
	}
	if n, err := s.PendingDeliveries(ctx); err != nil || n != 2 {
		t.Fatalf("PendingDeliveries = %d, %v; want the retry and the event ahead", n, err)
	}
	// Pruning removes settled rows older than the cut, never pending ones;
	// a pruned row's event shows as the log's view again.
	if n, err := s.PruneDeliveries(ctx, back.Add(3*time.Hour), 1); err != nil || n != 1 {
		t.Fatalf("PruneDeliveries(limit 1) = %d, %v", n, err)
	}
	if n, err := s.PruneDeliveries(ctx, back.Add(3*time.Hour), 10); err != nil || n != 2 {
		t.Fatalf("PruneDeliveries = %d, %v; want the other 2 settled", n, err)
	}
	if due, _, _ := s.DueDeliveries(ctx, w.ID, back.Add(4*time.Hour), 10); len(due) != 1 {
		t.Fatalf("pending rows pruned: %d left", len(due))
	}
}

// pruneEvents runs PruneEvents to the end in batches of 2 and returns
// how many it deleted.
func pruneEvents(tb testing.TB, s identity.Store, before time.Time) int {
	tb.Helper()
	total, after := 0, ""
	for range 1000 {
		n, next, err := s.PruneEvents(context.Background(), before, after, 2)
		if err != nil {
			tb.Fatal(err)
		}
		total += n
		if next == "" {
			return total
		}
		after = next
	}
	tb.Fatal("PruneEvents never reached the end")
	return 0
}

// Ensure event retention deletes old events oldest first in batches, and
// stops at the first recent one, but never deletes one an endpoint's
// cursor has not passed; and that events written after everything was
// pruned still come after the cursors.
func testEventRetention(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn, kept := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	old := base.Add(-100 * 24 * time.Hour)
	for range 5 {
		appendEvent(t, s, tn.ID, identity.EventLoginFailed, old)
	}
	// An endpoint (suspended, say) that has not delivered an old event.
	w := mustWebhook(t, s, kept.ID, identity.EventLoginFailed)
	waiting := appendEvent(t, s, kept.ID, identity.EventLoginFailed, old)
	recent := appendEvent(t, s, tn.ID, identity.EventLoginFailed, base)
	cut := base.Add(-90 * 24 * time.Hour)
	n, next, err := s.PruneEvents(ctx, cut, "", 2)
	if err != nil || n != 2 || next == "" {
		t.Fatalf("PruneEvents(limit 2) = %d, %q, %v", n, next, err)
	}
	if n := pruneEvents(t, s, cut); n != 3 {
		t.Fatalf("pruned %d more, want the other 3", n)
	}
	left, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{})
	if len(left) != 1 || left[0].ID != recent.ID {
		t.Fatalf("left %+v, want only the recent event", left)
	}
	if ids, _ := readAll(t, s, w, "", w.Cursor, 1); len(ids) != 1 || ids[0] != waiting.ID {
		t.Fatalf("the undelivered event was pruned: %v", ids)
	}
	// Once the cursor passed it, it goes.
	readAll(t, s, w, "", w.Cursor, 1)
	eps := claimed(t, s, "a", base, w.ID)
	evs, _ := s.ReadEvents(ctx, "a", w.ID, w.Cursor, 10)
	if len(eps) != 1 || len(evs) != 1 {
		t.Fatalf("claim %d, read %d", len(eps), len(evs))
	}
	if err := s.ReleaseEndpoint(ctx, "a", w.ID, evs[0].Position); err != nil {
		t.Fatal(err)
	}
	if n := pruneEvents(t, s, cut); n != 1 {
		t.Fatalf("pruned %d after delivery, want 1", n)
	}
	// With the newest events pruned too, the next event still comes after
	// the cursor (no position is ever reused).
	if n := pruneEvents(t, s, base.Add(time.Hour)); n != 1 {
		t.Fatalf("pruned %d, want the recent event", n)
	}
	later := appendEvent(t, s, kept.ID, identity.EventLoginFailed, base)
	if ids, _ := readAll(t, s, w, "", evs[0].Position, 1); len(ids) != 1 || ids[0] != later.ID {
		t.Fatalf("after pruning, the next event is not after the cursor: %v", ids)
	}
}
