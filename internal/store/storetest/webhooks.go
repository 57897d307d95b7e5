package storetest

import (
	"context"
	"slices"
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

// fanOutAll fans out until no event is left; other tests' events in a
// shared store are fanned out too, which does them no harm.
func fanOutAll(tb testing.TB, s identity.Store) {
	tb.Helper()
	for {
		n, err := s.FanOutEvents(context.Background(), base, 100)
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// Ensure endpoints can be created, read, listed, updated and deleted.
func testWebhookCRUD(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	got, err := s.GetWebhook(ctx, tn.ID, w.ID)
	if err != nil || got.URL != w.URL || !slices.Equal(got.Events, w.Events) || string(got.SecretSealed) != "sealed" || !got.CreatedAt.Equal(base) {
		t.Fatalf("GetWebhook = %+v, %v", got, err)
	}
	got.Events, got.Status, got.ConsecutiveFailures = []string{identity.EventLoggedOut}, identity.WebhookUnhealthy, 3
	if err := s.UpdateWebhook(ctx, got); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListWebhooks(ctx, tn.ID); len(list) != 1 || list[0].Status != identity.WebhookUnhealthy || list[0].ConsecutiveFailures != 3 {
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

// Ensure fan-out queues one delivery per subscribed endpoint, only once,
// and that each due delivery is claimed by one caller at a time.
func testWebhookFanOutAndClaim(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	past := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base) // before the tenant had an endpoint
	logins := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	both := mustWebhook(t, s, tn.ID, identity.EventLoggedIn, identity.EventLoggedOut)
	e1 := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base)
	appendEvent(t, s, tn.ID, identity.EventLoggedOut, base)
	appendEvent(t, s, tn.ID, identity.EventLoginFailed, base) // nobody subscribed
	fanOutAll(t, s)
	fanOutAll(t, s) // nothing twice
	d1, _, _ := s.ListDeliveries(ctx, tn.ID, logins.ID, identity.Page{})
	d2, _, _ := s.ListDeliveries(ctx, tn.ID, both.ID, identity.Page{})
	if len(d1) != 1 || len(d2) != 2 || d1[0].EventID != e1.ID || d1[0].Status != identity.DeliveryPending || d1[0].EventType != identity.EventLoggedIn {
		t.Fatalf("deliveries: %+v / %+v (the event from before the first endpoint, %s, must not be among them)", d1, d2, past.ID)
	}
	now := base.Add(time.Second)
	total := 0
	for range 3 {
		total += concurrently(t, 4, func() (bool, error) {
			cs, err := s.ClaimDeliveries(ctx, now, time.Minute, 10)
			n := 0
			for _, c := range cs {
				if c.TenantID == tn.ID {
					n++
				}
			}
			return n > 0, err
		})
	}
	all, _ := s.ClaimDeliveries(ctx, now, time.Minute, 100)
	for _, c := range all {
		if c.TenantID == tn.ID {
			t.Fatalf("a leased delivery was claimed again: %+v", c.Delivery)
		}
	}
	// When the lease runs out (the claimer crashed), it can be claimed again.
	again, _ := s.ClaimDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 100)
	mine := 0
	for _, c := range again {
		if c.TenantID == tn.ID {
			mine++
			if c.Endpoint.URL == "" || c.Endpoint.Signing == "" {
				t.Fatalf("claimed without its endpoint: %+v", c)
			}
		}
	}
	if mine != 3 {
		t.Fatalf("%d deliveries reclaimable after the lease, want 3", mine)
	}
}

// Ensure finishing records the attempt, settles the delivery and keeps the
// endpoint's health: unhealthy after a failure, suspended after the limit
// (its deliveries stay queued but unclaimed), healthy again when re-enabled.
func testWebhookFinishAndHealth(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	for range 3 {
		appendEvent(t, s, tn.ID, identity.EventLoggedIn, base)
	}
	fanOutAll(t, s)
	claim := func(at time.Time) []*identity.ClaimedDelivery {
		var out []*identity.ClaimedDelivery
		cs, err := s.ClaimDeliveries(ctx, at, time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.EndpointID == w.ID {
				out = append(out, c)
			}
		}
		return out
	}
	at := base.Add(time.Second)
	cs := claim(at)
	if len(cs) != 3 {
		t.Fatalf("claimed %d, want 3", len(cs))
	}
	fail := identity.DeliveryResult{Attempt: identity.DeliveryAttempt{At: at, StatusCode: 500, Duration: time.Millisecond, Error: "HTTP 500", Response: "oops"},
		NextAttemptAt: at.Add(10 * time.Second), Payload: []byte(`{"event":"x"}`), SuspendAfter: 2}
	if err := s.FinishDelivery(ctx, cs[0], fail); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetWebhook(ctx, tn.ID, w.ID); got.Status != identity.WebhookUnhealthy || got.ConsecutiveFailures != 1 {
		t.Fatalf("after one failure: %+v", got)
	}
	ok := identity.DeliveryResult{Attempt: identity.DeliveryAttempt{At: at, StatusCode: 204}, Delivered: true, Payload: []byte(`{}`), SuspendAfter: 2}
	if err := s.FinishDelivery(ctx, cs[1], ok); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetWebhook(ctx, tn.ID, w.ID); got.Status != identity.WebhookHealthy || got.ConsecutiveFailures != 0 {
		t.Fatalf("after a success: %+v", got)
	}
	// A limit of 1 makes this failure the one that suspends.
	gaveUp := identity.DeliveryResult{Attempt: identity.DeliveryAttempt{At: at, Error: "timeout"}, SuspendAfter: 1}
	if err := s.FinishDelivery(ctx, cs[2], gaveUp); err != nil {
		t.Fatal(err)
	}
	ds, _, _ := s.ListDeliveries(ctx, tn.ID, w.ID, identity.Page{})
	byID := map[string]*identity.Delivery{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	if d := byID[cs[0].ID]; d.Status != identity.DeliveryPending || d.Attempts != 1 || d.LastStatusCode != 500 || string(d.Payload) != `{"event":"x"}` || !d.NextAttemptAt.Equal(at.Add(10*time.Second)) {
		t.Fatalf("retried delivery: %+v", d)
	}
	if byID[cs[1].ID].Status != identity.DeliveryDelivered || byID[cs[2].ID].Status != identity.DeliveryFailed {
		t.Fatalf("settled deliveries: %+v %+v", byID[cs[1].ID], byID[cs[2].ID])
	}
	if as, _ := s.ListDeliveryAttempts(ctx, cs[0].ID); len(as) != 1 || as[0].StatusCode != 500 || as[0].Response != "oops" || as[0].Duration != time.Millisecond {
		t.Fatalf("attempts: %+v", as)
	}
	// Pruning removes settled deliveries older than the cut, never pending ones.
	if n, err := s.PruneDeliveries(ctx, at.Add(time.Second)); err != nil || n < 2 {
		t.Fatalf("PruneDeliveries = %d, %v; want at least the 2 settled", n, err)
	}
	if ds, _, _ := s.ListDeliveries(ctx, tn.ID, w.ID, identity.Page{}); len(ds) != 1 || ds[0].ID != cs[0].ID {
		t.Fatalf("after pruning: %+v", ds)
	}
	if n, _ := s.PendingDeliveries(ctx); n < 1 {
		t.Fatalf("PendingDeliveries = %d", n)
	}
	if got, _ := s.GetWebhook(ctx, tn.ID, w.ID); got.Status != identity.WebhookSuspended {
		t.Fatalf("after reaching the limit: %+v", got)
	}
	if len(claim(at.Add(time.Hour))) != 0 {
		t.Fatal("a suspended endpoint's delivery was claimed")
	}
	if next, _ := s.NextDeliveryAt(ctx); !next.IsZero() && next.Before(at.Add(10*time.Second)) {
		t.Fatalf("NextDeliveryAt counts a suspended endpoint: %v", next)
	}
	got, _ := s.GetWebhook(ctx, tn.ID, w.ID)
	got.Status, got.ConsecutiveFailures = identity.WebhookHealthy, 0
	if err := s.UpdateWebhook(ctx, got); err != nil {
		t.Fatal(err)
	}
	if cs := claim(at.Add(time.Hour)); len(cs) != 1 {
		t.Fatalf("after re-enabling: %d claimable, want the 1 kept", len(cs))
	}
}
