package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// Ensure the user, second-factor and session writes that take events
// commit them with the change, all or nothing: a refused write leaves no
// event, and an event that cannot be written undoes the change.
func testWritesTakeEvents(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	ev := func(typ, userID string) identity.Event {
		return identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: userID, Type: typ, CreatedAt: base, Data: map[string]any{"actor": "admin"}}
	}
	logged := func(e identity.Event) bool {
		t.Helper()
		evs, _, err := s.ListEvents(ctx, tn.ID, identity.EventFilter{Type: e.Type}, identity.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(evs, func(x *identity.Event) bool { return x.ID == e.ID })
	}
	want := func(what string, e identity.Event, in bool) {
		t.Helper()
		if logged(e) != in {
			t.Fatalf("%s: event %s logged = %v, want %v", what, e.Type, !in, in)
		}
	}

	u := &identity.User{ID: identity.NewID(), TenantID: tn.ID, Email: "events@example.com", PasswordHash: "$argon2id$x",
		Status: identity.StatusActive, CreatedAt: base, UpdatedAt: base}
	created := ev(identity.EventUserCreated, u.ID)
	if err := s.CreateUser(ctx, u, created); err != nil {
		t.Fatal(err)
	}
	want("CreateUser", created, true)
	twin := *u
	twin.ID = identity.NewID()
	refused := ev(identity.EventUserCreated, twin.ID)
	wantCode(t, s.CreateUser(ctx, &twin, refused), identity.ECONFLICT)
	want("CreateUser refused", refused, false)

	// An event that cannot be written (its id is taken) undoes the write.
	u.FirstName = "Changed"
	clash := created
	clash.Type = identity.EventUserUpdated
	if err := s.UpdateUser(ctx, u, clash); err == nil {
		t.Fatal("UpdateUser with an event that cannot be written succeeded")
	}
	if got, _ := s.GetUser(ctx, tn.ID, u.ID); got.FirstName != "" {
		t.Fatalf("UpdateUser kept its change without its event: %q", got.FirstName)
	}
	updated := ev(identity.EventUserUpdated, u.ID)
	if err := s.UpdateUser(ctx, u, updated); err != nil {
		t.Fatal(err)
	}
	want("UpdateUser", updated, true)
	ghost := *u
	ghost.ID = identity.NewID()
	lost := ev(identity.EventUserUpdated, ghost.ID)
	wantCode(t, s.UpdateUser(ctx, &ghost, lost), identity.ENOTFOUND)
	want("UpdateUser of no user", lost, false)

	// Sessions: the events are built from the number revoked.
	MustCreateSession(t, s, u, base)
	MustCreateSession(t, s, u, base)
	var told []int
	revoked := ev(identity.EventSessionRevoked, u.ID)
	n, err := s.RevokeUserSessions(ctx, tn.ID, u.ID, base.Add(time.Minute), "admin", func(n int) []identity.Event {
		told = append(told, n)
		return []identity.Event{revoked}
	})
	if err != nil || n != 2 || !slices.Equal(told, []int{2}) {
		t.Fatalf("RevokeUserSessions = %d, %v; events built for %v", n, err, told)
	}
	want("RevokeUserSessions", revoked, true)
	if n, err := s.RevokeUserSessions(ctx, tn.ID, u.ID, base.Add(time.Minute), "admin", func(n int) []identity.Event {
		told = append(told, n)
		return nil
	}); err != nil || n != 0 || !slices.Equal(told, []int{2, 0}) {
		t.Fatalf("RevokeUserSessions again = %d, %v; events built for %v", n, err, told)
	}

	// Second factors.
	unconfirmed := ev(identity.EventMFAEnabled, u.ID)
	wantCode(t, s.ConfirmTOTP(ctx, tn.ID, u.ID, 1, nil, base, unconfirmed), identity.ENOTFOUND)
	want("ConfirmTOTP with nothing pending", unconfirmed, false)
	mustPending(t, s, u, "secret")
	enabled := ev(identity.EventMFAEnabled, u.ID)
	if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, 1, hashes(2, "w"), base, enabled); err != nil {
		t.Fatal(err)
	}
	want("ConfirmTOTP", enabled, true)
	disabled := ev(identity.EventMFADisabled, u.ID)
	if ok, err := s.DeleteTOTP(ctx, tn.ID, u.ID, disabled); !ok || err != nil {
		t.Fatalf("DeleteTOTP = %v, %v", ok, err)
	}
	want("DeleteTOTP", disabled, true)
	nothing := ev(identity.EventMFADisabled, u.ID)
	if ok, err := s.DeleteTOTP(ctx, tn.ID, u.ID, nothing); ok || err != nil {
		t.Fatalf("DeleteTOTP of nothing = %v, %v", ok, err)
	}
	want("DeleteTOTP of nothing", nothing, false)

	// Deletion: the user stays when its event cannot be written.
	if err := s.DeleteUser(ctx, tn.ID, u.ID, created); err == nil {
		t.Fatal("DeleteUser with an event that cannot be written succeeded")
	}
	if _, err := s.GetUser(ctx, tn.ID, u.ID); err != nil {
		t.Fatalf("DeleteUser went through without its event: %v", err)
	}
	deleted := ev(identity.EventUserDeleted, u.ID)
	if err := s.DeleteUser(ctx, tn.ID, u.ID, deleted); err != nil {
		t.Fatal(err)
	}
	want("DeleteUser", deleted, true)
	again := ev(identity.EventUserDeleted, u.ID)
	wantCode(t, s.DeleteUser(ctx, tn.ID, u.ID, again), identity.ENOTFOUND)
	want("DeleteUser of no user", again, false)
}
