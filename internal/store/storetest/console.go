package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// What the operator console needs of a store: its sessions, users found
// by the start of their email, the audit log by time, and a delivery sent
// again.

func consoleSession(id string, created time.Time) *identity.ConsoleSession {
	h := sha256.Sum256([]byte(id))
	return &identity.ConsoleSession{IDHash: h[:], TokenMAC: []byte("mac of " + id), CreatedAt: created,
		ExpiresAt: created.Add(identity.ConsoleSessionLifetime), IP: "2001:db8::7", UserAgent: "Mozilla/5.0 (X11) ünïcode"}
}

// Ensure console sessions are found by the hash of their id with every
// field, are unique, and are deleted one by one or when expired.
func testConsoleSessions(t *testing.T, s identity.Store) {
	ctx := context.Background()
	a, b := consoleSession("a", base), consoleSession("b", base.Add(time.Hour))
	for _, cs := range []*identity.ConsoleSession{a, b} {
		if err := s.CreateConsoleSession(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.CreateConsoleSession(ctx, consoleSession("a", base)), identity.ECONFLICT)
	got, err := s.GetConsoleSession(ctx, a.IDHash)
	if err != nil || !bytes.Equal(got.IDHash, a.IDHash) || !bytes.Equal(got.TokenMAC, a.TokenMAC) || !got.CreatedAt.Equal(base) ||
		!got.ExpiresAt.Equal(a.ExpiresAt) || got.ExpiresAt.Location() != time.UTC || got.IP != a.IP || got.UserAgent != a.UserAgent {
		t.Fatalf("GetConsoleSession = %+v, %v", got, err)
	}
	_, err = s.GetConsoleSession(ctx, []byte("unknown"))
	wantCode(t, err, identity.ENOTFOUND)
	wantCode(t, s.CreateConsoleSession(ctx, &identity.ConsoleSession{IDHash: []byte("x"), TokenMAC: []byte("y"), CreatedAt: base,
		ExpiresAt: base, UserAgent: "bad\x00agent"}), identity.EINVALID)

	// a expires at base+12h, b an hour later: at a's expiry only a goes.
	n, err := s.DeleteExpiredConsoleSessions(ctx, a.ExpiresAt)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredConsoleSessions = %d, %v", n, err)
	}
	_, err = s.GetConsoleSession(ctx, a.IDHash)
	wantCode(t, err, identity.ENOTFOUND)
	if _, err := s.GetConsoleSession(ctx, b.IDHash); err != nil {
		t.Fatalf("the live session went too: %v", err)
	}
	if err := s.DeleteConsoleSession(ctx, b.IDHash); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetConsoleSession(ctx, b.IDHash)
	wantCode(t, err, identity.ENOTFOUND)
	if err := s.DeleteConsoleSession(ctx, b.IDHash); err != nil {
		t.Fatalf("deleting a deleted session: %v", err)
	}
}

// Ensure a user search by the start of the email ignores case and the
// spaces around it, takes '%', '_' and '\' literally, pages in creation
// order and keeps to the tenant.
func testUserEmailPrefix(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn, other := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	emails := []string{"ada@example.com", "Adam@example.com", "bob@example.com", "ad_min@example.com", "ad%x@example.com",
		`ad\y@example.com`, "éa@example.com", "adb@example.com"}
	ids := map[string]string{}
	for _, e := range emails {
		ids[e] = MustCreateUser(t, s, tn.ID, e).ID
	}
	MustCreateUser(t, s, other.ID, "ada2@example.com")
	search := func(prefix string, limit int) []string {
		t.Helper()
		var got []string
		cursor := ""
		for range 20 {
			page, next, err := s.ListUsers(ctx, tn.ID, identity.UserFilter{EmailPrefix: prefix}, identity.Page{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatalf("ListUsers(%q): %v", prefix, err)
			}
			for _, u := range page {
				got = append(got, u.Email)
			}
			if next == "" {
				return got
			}
			cursor = next
		}
		t.Fatalf("ListUsers(%q) did not end", prefix)
		return nil
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{" AD", []string{"ad%x@example.com", `ad\y@example.com`, "ad_min@example.com", "ada@example.com", "Adam@example.com", "adb@example.com"}},
		{"ada", []string{"ada@example.com", "Adam@example.com"}},
		{"ad_", []string{"ad_min@example.com"}},
		{"ad%", []string{"ad%x@example.com"}},
		{`ad\`, []string{`ad\y@example.com`}},
		{"É", []string{"éa@example.com"}},
		{"bob@example.com", []string{"bob@example.com"}},
		{"zed", nil},
	} {
		if got := search(tc.prefix, 2); !slices.Equal(got, tc.want) {
			t.Errorf("prefix %q: %v, want %v", tc.prefix, got, tc.want)
		}
	}
	if got := search("", 3); len(got) != len(emails) {
		t.Errorf("no prefix: %d users, want %d", len(got), len(emails))
	}
}

// Ensure the audit log is filtered by time, since inclusive and until
// exclusive to the microsecond, together with the other filters and
// pages.
func testEventsByTime(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	var ids []string
	for i := range 10 {
		typ := identity.EventLoggedIn
		if i%2 == 1 {
			typ = identity.EventLoginFailed
		}
		e := identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: "u", Type: typ, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if err := s.AppendEvents(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	list := func(f identity.EventFilter) []string {
		t.Helper()
		var got []string
		cursor := ""
		for range 20 {
			page, next, err := s.ListEvents(ctx, tn.ID, f, identity.Page{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.ID)
			}
			if next == "" {
				return got
			}
			cursor = next
		}
		t.Fatal("ListEvents did not end")
		return nil
	}
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	rev := func(ids []string) []string { out := slices.Clone(ids); slices.Reverse(out); return out }
	for _, tc := range []struct {
		name string
		f    identity.EventFilter
		want []string
	}{
		{"since", identity.EventFilter{Since: at(7)}, rev(ids[7:])},
		{"until", identity.EventFilter{Until: at(3)}, rev(ids[:3])},
		{"between", identity.EventFilter{Since: at(2), Until: at(6)}, rev(ids[2:6])},
		{"to the microsecond", identity.EventFilter{Since: at(4).Add(-time.Microsecond), Until: at(4).Add(time.Microsecond)}, ids[4:5]},
		{"other zone", identity.EventFilter{Since: at(8).In(time.FixedZone("X", -7*3600))}, rev(ids[8:])},
		{"with type", identity.EventFilter{Type: identity.EventLoginFailed, Since: at(2), Until: at(8)}, []string{ids[7], ids[5], ids[3]}},
		{"empty", identity.EventFilter{Since: at(6), Until: at(6)}, nil},
	} {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Ensure an event is redelivered through a delivery row due now: one
// written from the event when it has none (its type and time checked),
// or the existing row made pending again with its attempts and payload,
// listed once; other tenants' endpoints and unknown events are not found.
func testRedeliver(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn, other := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	before := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base.Add(-time.Minute))
	w := mustWebhook(t, s, tn.ID, identity.EventLoggedIn)
	ev := appendEvent(t, s, tn.ID, identity.EventLoggedIn, base.Add(time.Second))
	otherType := appendEvent(t, s, tn.ID, identity.EventLoggedOut, base.Add(2*time.Second))
	now := base.Add(time.Hour)

	d, err := s.Redeliver(ctx, tn.ID, w.ID, ev.ID, now)
	if err != nil || d.ID != identity.DeliveryID(ev.ID, w.ID) || d.Status != identity.DeliveryPending || d.Attempts != 0 ||
		!d.NextAttemptAt.Equal(now) || d.EventType != identity.EventLoggedIn || d.UserID != "u" || !d.EventAt.Equal(ev.CreatedAt) ||
		d.EndpointID != w.ID || d.TenantID != tn.ID || len(d.Payload) != 0 {
		t.Fatalf("Redeliver from the log = %+v, %v", d, err)
	}
	due, _, err := s.DueDeliveries(ctx, w.ID, now, 10)
	if err != nil || len(due) != 1 || due[0].ID != d.ID {
		t.Fatalf("due after redelivery: %+v, %v", due, err)
	}

	// Sent and delivered; redelivered again, it keeps its count and body.
	rec := &identity.AttemptRecord{Delivery: *d, SuspendAfter: time.Hour,
		Attempt: identity.DeliveryAttempt{DeliveryID: d.ID, At: now, StatusCode: 204, Duration: time.Millisecond}}
	rec.Delivery.Status, rec.Delivery.Payload = identity.DeliveryDelivered, []byte(`{"event":"x"}`)
	if _, err := s.RecordAttempt(ctx, rec); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	d, err = s.Redeliver(ctx, tn.ID, w.ID, ev.ID, later)
	if err != nil || d.Status != identity.DeliveryPending || d.Attempts != 1 || !d.NextAttemptAt.Equal(later) || string(d.Payload) != `{"event":"x"}` {
		t.Fatalf("Redeliver of a row = %+v, %v", d, err)
	}
	list, _, err := s.ListDeliveries(ctx, tn.ID, w.ID, identity.Page{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range list {
		if x.EventID == ev.ID {
			n++
			if x.Status != identity.DeliveryPending || x.Attempts != 1 {
				t.Errorf("listed as %+v", x)
			}
		}
	}
	if n != 1 {
		t.Fatalf("the redelivered event is listed %d times: %+v", n, list)
	}

	for name, tc := range map[string]struct{ tenant, endpoint, event string }{
		"event of another type":     {tn.ID, w.ID, otherType.ID},
		"event before the endpoint": {tn.ID, w.ID, before.ID},
		"unknown event":             {tn.ID, w.ID, identity.NewID()},
		"another tenant":            {other.ID, w.ID, ev.ID},
		"unknown endpoint":          {tn.ID, identity.NewID(), ev.ID},
	} {
		_, err := s.Redeliver(ctx, tc.tenant, tc.endpoint, tc.event, later)
		if identity.ErrorCode(err) != identity.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", name, err)
		}
	}
	if due, _, _ := s.DueDeliveries(ctx, w.ID, later, 10); len(due) != 1 {
		t.Fatalf("due after refused redeliveries: %s", fmt.Sprint(due))
	}
}
