package identity_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/token"
)

// Ensure a redelivery, as the console asks for it, makes the event's
// delivery due now, wakes the dispatcher through the EventsWritten that
// identity.New gives every use case that writes what it sends, and is
// audited as an admin write marked as the console's.
func TestRedeliverIsDueNowAndWakes(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := identity.Via(context.Background(), "console")
	var woke atomic.Int32
	svc := identity.New(identity.Deps{Store: s.db, Now: s.clock.Now, Logger: slog.New(slog.DiscardHandler),
		WebhookSealer: token.NewSealer([]byte("identity story secret, 32 bytes or more"), token.LabelWebhook),
		EventsWritten: func() { woke.Add(1) }})
	url, events := "https://hooks.example.com/latch", []string{identity.EventLoggedIn}
	w, _, err := svc.Webhooks.Create(ctx, s.tenant.ID, identity.WebhookInput{URL: &url, Events: &events}, func() string { return "whsec_test" })
	if err != nil {
		t.Fatal(err)
	}
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("login: %s", code)
	}
	login := s.events(t, identity.EventLoggedIn)[0]
	s.clock.Advance(time.Hour) // due when redelivered, not when it happened

	d, err := svc.Webhooks.Redeliver(ctx, s.tenant.ID, w.ID, login.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != identity.DeliveryPending || !d.NextAttemptAt.Equal(s.clock.Now()) || d.EventID != login.ID {
		t.Fatalf("redelivery = %+v; want pending, due at %v", d, s.clock.Now())
	}
	if n := woke.Load(); n != 1 {
		t.Fatalf("dispatcher woken %d times; want 1", n)
	}
	audit := s.events(t, identity.AdminEventPrefix+"delivery.redelivered")
	if len(audit) != 1 || audit[0].Data["via"] != "console" || audit[0].Data["event_id"] != login.ID || audit[0].Data["webhook_id"] != w.ID {
		t.Fatalf("audit = %+v", audit)
	}

	// An event that is not in the log is not redeliverable, and wakes
	// nobody.
	if _, err := svc.Webhooks.Redeliver(ctx, s.tenant.ID, w.ID, identity.NewID()); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Fatalf("unknown event: %v", err)
	}
	if n := woke.Load(); n != 1 {
		t.Fatalf("a failed redelivery woke the dispatcher (%d)", n)
	}
}

// Ensure an admin revokes one session only of the user it names: another
// user's session is not found, and the revoked one is audited with its id.
func TestRevokeOneSession(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("login: %s", code)
	}
	email, p := "bob@example.com", pw
	bob, err := s.Admin.CreateUser(ctx, s.tenant.ID, identity.UserInput{Email: &email, Password: &p})
	if err != nil {
		t.Fatal(err)
	}
	sessions, _, err := s.Admin.ListUserSessions(ctx, s.tenant.ID, s.user.ID, identity.Page{})
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions = %v, %v", sessions, err)
	}
	sid := sessions[0].ID
	if err := s.Admin.RevokeSession(ctx, s.tenant.ID, bob.ID, sid); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Fatalf("another user's session: %v", err)
	}
	for range 2 { // the second time changes nothing
		if err := s.Admin.RevokeSession(ctx, s.tenant.ID, s.user.ID, sid); err != nil {
			t.Fatal(err)
		}
	}
	if sessions, _, _ = s.Admin.ListUserSessions(ctx, s.tenant.ID, s.user.ID, identity.Page{}); !sessions[0].Revoked() {
		t.Fatal("the session is live")
	}
	audit := s.events(t, identity.AdminEventPrefix+"session.revoked")
	if len(audit) != 1 || audit[0].Data["id"] != sid || audit[0].UserID != s.user.ID {
		t.Fatalf("audit = %+v", audit)
	}
}
